import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { signInOnIdpForm, skipBrowser as skip, useDemoInBrowser } from './chromium.js';

if (skip) console.log(`# skipping browser tests: ${skip}`);

describe('the npm start demo in a real browser', { skip }, () => {
  const demo = useDemoInBrowser();

  test('tessera dev prints the URL, the demo route rules and the demo users', () => {
    assert.match(demo.stack.output(), new RegExp(`Open\\s+${demo.stack.url}`));
    assert.match(demo.stack.output(), /Route rules\s+\/ \(exact\) optional sign-in · \/static public · \/admin role admin \+ acr mfa · anything else needs a session/);
    assert.match(demo.stack.output(), /the demo's defaults; TESSERA_ROUTES replaces them/);
    assert.match(demo.stack.output(), /alice \/ alice/);
    assert.match(demo.stack.output(), /bob \/ bob/);
  });

  test('the landing page, sign in on the form, see the demo page, see the API 401, sign out, the signed-out page', async () => {
    const page = await demo.browser.newPage();
    await page.goto(`${demo.stack.url}/`);
    assert.equal(page.url(), `${demo.stack.url}/`, 'the landing page is public');
    assert.equal(await page.textContent('#who'), 'You are not signed in.');
    await Promise.all([page.waitForURL((u) => u.href.startsWith(demo.stack.idpUrl)), page.click('#sign-in')]);
    await signInOnIdpForm(page, 'alice', `${demo.stack.url}/app`);

    assert.equal(await page.textContent('#user'), 'alice');
    assert.equal(await page.textContent('#roles'), 'admin,user');
    await page.waitForFunction(() => document.getElementById('token-exp')?.textContent !== '…');
    assert.match((await page.textContent('#token-exp')) ?? '', /^\d{4}-\d\d-\d\dT/);
    assert.match((await page.textContent('#amr')) ?? '', /\(acr pwd\)$/);

    await page.click('#call-api');
    await page.waitForFunction(() => document.getElementById('api-result')?.textContent?.startsWith('200'));
    await page.click('#call-anon');
    await page.waitForFunction(() => document.getElementById('api-result')?.textContent?.startsWith('401'));
    assert.match((await page.textContent('#api-result')) ?? '', /login_required/);
    if (process.env.TESSERA_SCREENSHOTS) await page.screenshot({ path: join(process.env.TESSERA_SCREENSHOTS, 'demo.png') });

    const cookies = await page.context().cookies(demo.stack.url);
    const session = cookies.find((c) => c.name === 'tessera');
    assert.ok(session?.httpOnly, 'the session cookie is HttpOnly');
    assert.equal(session?.sameSite, 'Lax');

    // Signed in, the public landing page (the optional rule) knows who it is.
    await page.goto(`${demo.stack.url}/`);
    assert.equal(await page.textContent('#user'), 'alice');

    await page.goto(`${demo.stack.url}/app`);
    await Promise.all([page.waitForURL(`${demo.stack.url}/auth/signed-out?idp=ended`), page.click('#sign-out')]);
    assert.equal(await page.textContent('h1'), 'You are signed out');
    await page.goto(`${demo.stack.url}/`);
    assert.equal(await page.textContent('#who'), 'You are not signed in.', 'signed out, on the landing page');
    const after = await page.context().cookies(demo.stack.url);
    assert.equal(after.find((c) => c.name === 'tessera'), undefined, 'the session cookie is gone');
    await page.goto(`${demo.stack.url}/app`);
    assert.ok(page.url().startsWith(demo.stack.idpUrl), `the signed-in page asks for a login again, at ${page.url()}`);
    assert.ok(await page.isVisible('input[name="username"]'), 'the login form is shown again');
    await page.close();
  });
});
