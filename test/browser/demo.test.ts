import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { startDevStack } from '../helpers/dev-stack.js';

const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const skip = !existsSync(executablePath) && !process.env.CI
  ? `no Chromium at ${executablePath} (apt-get install chromium)` : false;
if (skip) console.log(`# skipping browser tests: ${skip}`);

describe('the npm start demo in a real browser', { skip }, () => {
  let stack: Awaited<ReturnType<typeof startDevStack>>;
  let browser: Browser;
  before(async () => {
    stack = await startDevStack();
    browser = await chromium.launch({
      executablePath,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
        '--disable-quic', '--no-first-run', '--disable-sync'],
    });
  });
  after(async () => {
    await browser?.close();
    await stack?.close();
  });

  test('tessera dev prints the URL and the demo users', () => {
    assert.match(stack.output(), new RegExp(`Open\\s+${stack.url}`));
    assert.match(stack.output(), /alice \/ alice/);
    assert.match(stack.output(), /bob \/ bob/);
  });

  test('sign in on the form, see the demo page, see the API 401, sign out, see the login form again', async () => {
    const page = await browser.newPage();
    await page.goto(`${stack.url}/`);
    assert.ok(page.url().startsWith(stack.idpUrl), `redirected to the IdP, at ${page.url()}`);
    await page.fill('input[name="username"]', 'alice');
    await page.fill('input[name="password"]', 'alice');
    await Promise.all([page.waitForURL(`${stack.url}/`), page.click('button[type="submit"], input[type="submit"]')]);

    assert.equal(await page.textContent('#user'), 'alice');
    assert.equal(await page.textContent('#roles'), 'admin,user');
    await page.waitForFunction(() => document.getElementById('token-exp')?.textContent !== '…');
    assert.match((await page.textContent('#token-exp')) ?? '', /^\d{4}-\d\d-\d\dT/);

    await page.click('#call-api');
    await page.waitForFunction(() => document.getElementById('api-result')?.textContent?.startsWith('200'));
    await page.click('#call-anon');
    await page.waitForFunction(() => document.getElementById('api-result')?.textContent?.startsWith('401'));
    assert.match((await page.textContent('#api-result')) ?? '', /login_required/);
    if (process.env.TESSERA_SCREENSHOTS) await page.screenshot({ path: join(process.env.TESSERA_SCREENSHOTS, 'demo.png') });

    const cookies = await page.context().cookies(stack.url);
    const session = cookies.find((c) => c.name === 'tessera');
    assert.ok(session?.httpOnly, 'the session cookie is HttpOnly');
    assert.equal(session?.sameSite, 'Lax');

    await Promise.all([page.waitForURL((u) => u.href.startsWith(stack.idpUrl)), page.click('#sign-out')]);
    assert.ok(await page.isVisible('input[name="username"]'), 'the login form is shown again');
    const after = await page.context().cookies(stack.url);
    assert.equal(after.find((c) => c.name === 'tessera'), undefined, 'the session cookie is gone');
  });
});
