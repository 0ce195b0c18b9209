/**
 * The `npm start` tour in Chromium: the landing page's short tour without a session, then every
 * item of the signed-in page's tour in turn — who you are, the public page, your sessions, the
 * live WebSocket, the admin page with its step-up, sign out — against `tessera dev`.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { DEV_OTP_CODE } from '../../src/dev-idp/index.js';
import { signInOnIdpForm, skipBrowser as skip, useDemoInBrowser } from './chromium.js';

const tourItems = ['tour-who', 'tour-public', 'tour-admin', 'tour-sessions', 'tour-live', 'tour-sign-out'];

describe('the npm start tour in a real browser', { skip, timeout: 90_000 }, () => {
  const demo = useDemoInBrowser();

  async function freshContext(): Promise<BrowserContext> {
    const context = await demo.browser.newContext();
    context.setDefaultTimeout(15_000);
    return context;
  }
  const sessionCookie = async (context: BrowserContext) => (await context.cookies(demo.stack.url)).find((c) => c.name === 'tessera')?.value;
  /** The tour's items as shown: id, the text of its link (or button, or name), and the line. */
  const tourOf = (page: Page) => page.$$eval('#tour li', (lis) => lis.map((li) => ({
    id: li.id,
    title: (li.querySelector('a, button, strong')?.textContent ?? '').trim(),
    href: li.querySelector('a')?.getAttribute('href') ?? null,
    line: (li.querySelector('.muted')?.textContent ?? '').trim(),
  })));

  test('signed out: the public landing page opens without a session and shows the short tour', async () => {
    const context = await freshContext();
    const page = await context.newPage();
    const response = await page.goto(`${demo.stack.url}/`);
    assert.equal(response?.status(), 200);
    assert.equal(page.url(), `${demo.stack.url}/`, 'no redirect to the IdP');
    assert.equal(await page.textContent('#tour h2'), 'Tour');
    const tour = await tourOf(page);
    assert.deepEqual(tour.map((i) => i.id), tourItems);
    assert.ok(tour.every((i) => i.title !== '' && i.line.length > 10), JSON.stringify(tour));
    assert.equal(tour.find((i) => i.id === 'tour-sign-out')?.href, null, 'nothing to sign out of: named, not linked');
    assert.equal(await page.$('#tour-sign-out-button'), null);
    assert.equal(await sessionCookie(context), undefined, 'no session was made');
    await context.close();
  });

  test('signed in: every tour item, from who you are to sign out', async (t) => {
    const context = await freshContext();
    const page = await context.newPage();
    await page.goto(`${demo.stack.url}/`);
    await Promise.all([page.waitForURL((u) => u.href.startsWith(demo.stack.idpUrl)), page.click('#sign-in')]);
    await signInOnIdpForm(page, 'alice', `${demo.stack.url}/app`);

    // The tour is at the top: the first section after the page's heading, and complete.
    assert.equal(await page.$eval('main > h1 + section', (s) => s.id), 'tour');
    const tour = await tourOf(page);
    assert.deepEqual(tour.map((i) => i.id), tourItems);
    assert.deepEqual(tour.map((i) => i.title), ['Who you are', 'The public page', 'The admin page, with step-up', 'Your sessions', 'The live WebSocket', 'Sign out']);
    assert.ok(tour.every((i) => i.line.length > 20), 'each item says what it proves');
    // Every in-page link lands on a section of this page with a heading.
    for (const item of tour.filter((i) => i.href?.startsWith('/app#'))) {
      const target = item.href!.slice('/app'.length);
      assert.ok(await page.$(`${target} h2`), `${item.id} points at ${target}, a section with a heading`);
    }
    t.diagnostic(`tour: ${tour.map((i) => `${i.title} → ${i.href ?? 'button'}`).join('; ')}`);

    // Who you are.
    await page.click('#tour-who a');
    assert.equal(page.url(), `${demo.stack.url}/app#who-you-are`);
    assert.equal(await page.textContent('#who-you-are h2'), 'Who you are');
    assert.equal(await page.textContent('#user'), 'alice');
    assert.equal(await page.textContent('#roles'), 'admin,user');
    await page.waitForFunction(() => /\(acr pwd\)$/.test(document.getElementById('amr')?.textContent ?? ''));

    // Your sessions: this one is listed and marked.
    await page.click('#tour-sessions a');
    await page.waitForSelector('#sessions-list tr.current');
    assert.equal(await page.textContent('#sessions-count'), '1');
    assert.match((await page.textContent('#sessions-list tr.current')) ?? '', /this browser/);

    // The live WebSocket ticks.
    await page.click('#tour-live a');
    await page.waitForFunction(() => document.getElementById('live-clock-state')?.textContent === 'live');
    await page.waitForFunction(() => /^\d\d:\d\d:\d\d$/.test(document.getElementById('live-clock')?.textContent ?? ''));
    const tick = await page.textContent('#live-clock');
    await page.waitForFunction((seen) => document.getElementById('live-clock')?.textContent !== seen, tick, { timeout: 3000 });

    // The public page knows who is signed in.
    await page.click('#tour-public a');
    assert.equal(page.url(), `${demo.stack.url}/`);
    assert.equal(await page.textContent('#user'), 'alice');
    assert.deepEqual((await tourOf(page)).map((i) => i.id), tourItems, 'the short tour is there too');

    // The admin page: the password-only session is stepped up with the one-time code.
    const beforeStepUp = await sessionCookie(context);
    await page.goto(`${demo.stack.url}/app`);
    await Promise.all([page.waitForURL((u) => u.href.startsWith(demo.stack.idpUrl)), page.click('#tour-admin a')]);
    await page.waitForSelector('input[name="otp"]');
    assert.equal(await page.isVisible('input[name="password"]'), false, 'only the code is asked for');
    await page.fill('input[name="otp"]', DEV_OTP_CODE);
    await Promise.all([page.waitForURL(`${demo.stack.url}/admin`), page.click('button[type="submit"]')]);
    assert.equal(await page.textContent('h1'), 'Admin');
    assert.equal(await page.textContent('#acr'), 'mfa');
    const session = await sessionCookie(context);
    assert.ok(session && session !== beforeStepUp, 'the step-up made a new session');

    // Sign out, from the tour's button, while another tab holds the live WebSocket.
    const watcher = await context.newPage();
    await watcher.goto(`${demo.stack.url}/app`);
    await watcher.waitForFunction(() => document.getElementById('live-clock-state')?.textContent === 'live');
    await page.goto(`${demo.stack.url}/app`);
    await Promise.all([
      page.waitForURL((u) => u.href.startsWith(demo.stack.url) && u.pathname !== '/app'),
      page.click('#tour-sign-out-button'),
    ]);
    assert.equal(await sessionCookie(context), undefined, 'the session cookie is gone');
    const old = await fetch(`${demo.stack.url}/auth/session`, { headers: { cookie: `tessera=${session}`, accept: 'application/json' } });
    assert.equal(old.status, 401, 'the session is ended in the store, not only in this browser');
    await watcher.waitForFunction(() => document.getElementById('live-clock-state')?.dataset.code === '1008', undefined, { timeout: 5000 });
    assert.equal(await watcher.textContent('#live-clock-state'), 'stopped: session ended');
    // Signed out: the public page still opens; the signed-in page asks for a login.
    assert.equal((await page.goto(`${demo.stack.url}/`))?.status(), 200);
    assert.equal(page.url(), `${demo.stack.url}/`);
    await page.goto(`${demo.stack.url}/app`);
    assert.ok(page.url().startsWith(demo.stack.idpUrl), `the signed-in page asks for a login again, at ${page.url()}`);
    await context.close();
  });
});
