import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { startStack, type Stack } from '../helpers/stack.js';
import type { Logger } from '../../src/observability/log.js';
import { launchChromium, signInOnIdpForm, skipBrowser as skip } from './chromium.js';

/** Every log line the gateway writes, as objects. */
function captureLogger(lines: Array<Record<string, unknown>> = [], bindings: Record<string, unknown> = {}): Logger & { lines: typeof lines } {
  const at = (level: string) => (fields: Record<string, unknown>, msg: string) => { lines.push({ level, msg, ...bindings, ...fields }); };
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: (more) => captureLogger(lines, { ...bindings, ...more }) };
}

/** The page after sign-out and the error pages (callback error, 403) in real Chromium, through the gateway. */
describe('the signed-out page and the error pages, in a real browser', { skip, timeout: 90_000 }, () => {
  let stack: Stack;
  let browser: Browser;
  const logger = captureLogger();
  before(async () => {
    stack = await startStack({ logger, options: { routes: [{ path: '/admin', roles: ['admin'] }, { path: '/bye', auth: 'none' }] } });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await stack?.close();
  });

  async function signIn(page: Page, username: string): Promise<void> {
    await Promise.all([page.waitForURL((u) => u.href.startsWith(stack.idp.url)), page.goto(`${stack.url}/auth/login?returnTo=%2Fhome`)]);
    await signInOnIdpForm(page, username, `${stack.url}/home`);
  }

  async function signOut(page: Page): Promise<void> {
    await page.goto(`${stack.url}/auth/logout`);
    await Promise.all([page.waitForNavigation(), page.click('button[type="submit"]')]);
  }

  /** The request id on the page, and the log line carrying it. */
  async function requestIdIn(page: Page): Promise<Record<string, unknown>> {
    const id = await page.textContent('#request-id');
    assert.match(id ?? '', /^[0-9a-f-]{36}$/);
    const line = logger.lines.find((l) => l.requestId === id);
    assert.ok(line, `a log line carries the request id ${id}`);
    return line;
  }

  test('after Sign out: "You are signed out", the IdP session ended too, and Sign in again asks for the password', async () => {
    const context = await browser.newContext();
    context.setDefaultTimeout(15_000);
    const page = await context.newPage();
    await signIn(page, 'alice');
    await signOut(page);
    assert.equal(page.url(), `${stack.url}/auth/signed-out?idp=ended`);
    assert.equal(await page.textContent('h1'), 'You are signed out');
    assert.ok(await page.isVisible('#idp-ended'), 'says the IdP session was ended too');
    assert.equal((await context.cookies(stack.url)).find((c) => c.name === stack.tessera.cookieName), undefined, 'the session cookie is gone');
    await Promise.all([page.waitForURL((u) => u.href.startsWith(stack.idp.url)), page.click('a:text-is("Sign in again")')]);
    assert.ok(await page.isVisible('input[name="password"]'), 'the IdP asks for the password again');
    await context.close();
  });

  test('a callback error is a page saying what happened and what to do, with the request id of its log line', async () => {
    const page = await browser.newPage();
    const response = await page.goto(`${stack.url}/auth/callback?code=x&state=${'s'.repeat(43)}`);
    assert.equal(response?.status(), 400);
    assert.equal(await page.textContent('h1'), 'Sign-in expired');
    assert.match((await page.textContent('main p')) ?? '', /Please sign in again/);
    const line = await requestIdIn(page);
    assert.equal(line.msg, 'callback rejected');
    assert.equal(line.reason, 'transaction_not_found');
    await Promise.all([page.waitForURL((u) => u.href.startsWith(stack.idp.url)), page.click('a:text-is("Sign in again")')]);
    await page.close();
  });

  test('a 403 is the same layout, names the missing role, and its request id is in the log', async () => {
    const context = await browser.newContext();
    context.setDefaultTimeout(15_000);
    const page = await context.newPage();
    await signIn(page, 'bob');
    const response = await page.goto(`${stack.url}/admin`);
    assert.equal(response?.status(), 403);
    assert.equal(await page.textContent('h1'), 'Access denied');
    assert.match((await page.textContent('main p')) ?? '', /roles admin/);
    const line = await requestIdIn(page);
    assert.equal(line.msg, 'access denied: missing role');
    assert.equal(line.path, '/admin');
    await context.close();
  });

  test('TESSERA_POST_LOGOUT_PATH still names where sign-out lands', async () => {
    await stack.restart({ postLogoutPath: '/bye' });
    try {
      const context = await browser.newContext();
      context.setDefaultTimeout(15_000);
      const page = await context.newPage();
      await signIn(page, 'alice');
      await signOut(page);
      assert.equal(page.url(), `${stack.url}/bye`);
      assert.equal(JSON.parse((await page.textContent('body')) ?? '{}').url, '/bye', 'the application answered /bye');
      await context.close();
    } finally {
      await stack.restart();
    }
  });
});
