/**
 * The `tessera dev` demo's live clock in Chromium: a WebSocket through the gateway that ticks
 * while signed in and stops, closed by the gateway, when the user signs out in another tab.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { startDevStack } from '../helpers/dev-stack.js';
import { launchChromium, skipBrowser as skip } from './chromium.js';

describe('the demo live clock in a real browser', { skip }, () => {
  let stack: Awaited<ReturnType<typeof startDevStack>>;
  let browser: Browser;
  before(async () => {
    stack = await startDevStack();
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await stack?.close();
  });

  test('the clock ticks over a WebSocket and stops when the user signs out in another tab', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${stack.url}/app`);
    await page.waitForURL((u) => u.href.startsWith(stack.idpUrl));
    await page.fill('input[name="username"]', 'alice');
    await page.fill('input[name="password"]', 'alice');
    await Promise.all([page.waitForURL(`${stack.url}/app`), page.click('button[type="submit"], input[type="submit"]')]);

    await page.waitForFunction(() => document.getElementById('live-clock-state')?.textContent === 'live');
    await page.waitForFunction(() => /^\d\d:\d\d:\d\d$/.test(document.getElementById('live-clock')?.textContent ?? ''));
    const first = await page.textContent('#live-clock');
    await page.waitForFunction((seen) => document.getElementById('live-clock')?.textContent !== seen, first, { timeout: 3000 });

    const other = await context.newPage();
    await other.goto(`${stack.url}/app`);
    await Promise.all([other.waitForURL((u) => !u.pathname.startsWith('/app')), other.click('#sign-out')]);

    await page.waitForFunction(() => document.getElementById('live-clock-state')?.dataset.code === '1008', undefined, { timeout: 3000 });
    assert.equal(await page.textContent('#live-clock-state'), 'stopped: session ended');
    const stopped = await page.textContent('#live-clock');
    await page.waitForTimeout(1500);
    assert.equal(await page.textContent('#live-clock'), stopped, 'the clock no longer ticks');
    await context.close();
  });
});
