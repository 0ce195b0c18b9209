import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { signInOnIdpForm, skipBrowser as skip, useDemoInBrowser } from './chromium.js';

/**
 * The demo's route rules in real Chromium against `tessera dev`: a public landing page and
 * `/static` file, `/admin` (role admin, acr mfa) with a step-up through the dev IdP's one-time
 * code for alice and a 403 page for bob.
 */
describe('route rules and step-up in the npm start demo, in a real browser', { skip, timeout: 60_000 }, () => {
  const demo = useDemoInBrowser();

  async function freshPage(): Promise<{ context: BrowserContext; page: Page }> {
    const context = await demo.browser.newContext();
    context.setDefaultTimeout(15_000);
    return { context, page: await context.newPage() };
  }

  /** Signs in on the IdP's password form from the landing page's "Sign in" link; ends on /app. */
  async function signIn(page: Page, username: string): Promise<void> {
    await page.goto(`${demo.stack.url}/`);
    await Promise.all([page.waitForURL((u) => u.href.startsWith(demo.stack.idpUrl)), page.click('#sign-in')]);
    await signInOnIdpForm(page, username, `${demo.stack.url}/app`);
  }

  const sessionCookie = async (context: BrowserContext) => (await context.cookies(demo.stack.url)).find((c) => c.name === 'tessera')?.value;

  test('the landing page and the static file load without signing in', async () => {
    const { context, page } = await freshPage();
    const landing = await page.goto(`${demo.stack.url}/`);
    assert.equal(landing?.status(), 200);
    assert.equal(page.url(), `${demo.stack.url}/`, 'no redirect to the IdP');
    assert.equal(await page.textContent('#who'), 'You are not signed in.');
    assert.equal(await page.getAttribute('#sign-in', 'href'), '/auth/login?returnTo=%2Fapp');
    // The page's stylesheet (public /static) was loaded and applied.
    assert.equal(await page.evaluate(() => getComputedStyle(document.body).maxWidth), '736px');

    const css = await page.goto(`${demo.stack.url}/static/demo.css`);
    assert.equal(css?.status(), 200);
    assert.equal(page.url(), `${demo.stack.url}/static/demo.css`);
    assert.match(css?.headers()['content-type'] ?? '', /^text\/css/);
    assert.equal(css?.headers()['set-cookie'], undefined, 'a public file sets no cookie');
    assert.match(await css!.text(), /max-width:46rem/);
    assert.equal(await sessionCookie(context), undefined, 'no session was made');
    await context.close();
  });

  test('alice signs in with her password, opens /admin, is asked for the one-time code, and lands on the admin page with a new MFA session', async () => {
    const { context, page } = await freshPage();
    await signIn(page, 'alice');
    const before = await sessionCookie(context);
    assert.ok(before, 'signed in');

    const authorizeRequests: string[] = [];
    page.on('request', (r) => { if (r.url().startsWith(demo.stack.idpUrl) && r.url().includes('/auth?')) authorizeRequests.push(r.url()); });
    await page.goto(`${demo.stack.url}/admin`);
    assert.ok(page.url().startsWith(demo.stack.idpUrl), `sent to the IdP for the step-up, at ${page.url()}`);
    await page.waitForSelector('input[name="otp"]');
    assert.equal(await page.isVisible('input[name="password"]'), false, 'the IdP session is reused: only the code is asked for');
    assert.ok(authorizeRequests.some((u) => new URL(u).searchParams.get('acr_values') === 'mfa'), `the login asked for acr_values=mfa: ${authorizeRequests.join(' ')}`);

    await page.fill('input[name="otp"]', '123456');
    await Promise.all([page.waitForURL(`${demo.stack.url}/admin`), page.click('button[type="submit"]')]);
    assert.equal(await page.textContent('h1'), 'Admin');
    assert.equal(await page.textContent('#user'), 'alice');
    assert.equal(await page.textContent('#acr'), 'mfa');
    assert.match((await page.textContent('#amr')) ?? '', /mfa/);
    if (process.env.TESSERA_SCREENSHOTS) await page.screenshot({ path: join(process.env.TESSERA_SCREENSHOTS, 'admin.png') });

    const afterStepUp = await sessionCookie(context);
    assert.ok(afterStepUp, 'still signed in');
    assert.notEqual(afterStepUp, before, 'the step-up made a new session (new id)');
    const old = await fetch(`${demo.stack.url}/auth/session`, { headers: { cookie: `tessera=${before}`, accept: 'application/json' } });
    assert.equal(old.status, 401, 'the old session cookie is dead');
    const now = await (await context.request.get(`${demo.stack.url}/auth/session`, { headers: { accept: 'application/json' } })).json() as { acr: string; sub: string };
    assert.equal(now.sub, 'alice');
    assert.equal(now.acr, 'mfa');

    // Stepped up once: /admin opens directly from now on.
    await page.goto(`${demo.stack.url}/`);
    await page.goto(`${demo.stack.url}/admin`);
    assert.equal(page.url(), `${demo.stack.url}/admin`);
    assert.equal(await page.textContent('#acr'), 'mfa');
    await context.close();
  });

  test('bob (role user) gets the 403 page at /admin, without being asked for a code', async () => {
    const { context, page } = await freshPage();
    await signIn(page, 'bob');
    const response = await page.goto(`${demo.stack.url}/admin`);
    assert.equal(response?.status(), 403);
    assert.equal(page.url(), `${demo.stack.url}/admin`, 'no step-up for a user without the role');
    assert.equal(await page.textContent('h1'), 'Access denied');
    assert.match((await page.textContent('body')) ?? '', /admin/);
    assert.equal(await page.$('#refused'), null, 'the gateway answered, not the demo app');
    assert.equal(await page.$('input[name="otp"]'), null);
    await context.close();
  });
});
