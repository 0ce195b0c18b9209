/**
 * The `tessera dev` demo's live clock in Chromium: a WebSocket through the gateway that ticks
 * while signed in and stops, closed by the gateway, when the user signs out in another tab.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { signInOnIdpForm, skipBrowser as skip, useDemoInBrowser } from './chromium.js';

describe('the demo live clock in a real browser', { skip }, () => {
  const demo = useDemoInBrowser();

  test('the clock ticks over a WebSocket and stops when the user signs out in another tab', async () => {
    const context = await demo.browser.newContext();
    const page = await context.newPage();
    await page.goto(`${demo.stack.url}/app`);
    await page.waitForURL((u) => u.href.startsWith(demo.stack.idpUrl));
    await signInOnIdpForm(page, 'alice', `${demo.stack.url}/app`);

    await page.waitForFunction(() => document.getElementById('live-clock-state')?.textContent === 'live');
    await page.waitForFunction(() => /^\d\d:\d\d:\d\d$/.test(document.getElementById('live-clock')?.textContent ?? ''));
    const first = await page.textContent('#live-clock');
    await page.waitForFunction((seen) => document.getElementById('live-clock')?.textContent !== seen, first, { timeout: 3000 });

    const other = await context.newPage();
    await other.goto(`${demo.stack.url}/app`);
    await Promise.all([other.waitForURL((u) => !u.pathname.startsWith('/app')), other.click('#sign-out')]);

    await page.waitForFunction(() => document.getElementById('live-clock-state')?.dataset.code === '1008', undefined, { timeout: 3000 });
    assert.equal(await page.textContent('#live-clock-state'), 'stopped: session ended');
    const stopped = await page.textContent('#live-clock');
    await page.waitForTimeout(1500);
    assert.equal(await page.textContent('#live-clock'), stopped, 'the clock no longer ticks');
    await context.close();
  });
});
