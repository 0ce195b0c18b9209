import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startDevStack } from '../helpers/dev-stack.js';
import { launchChromium, skipBrowser as skip } from './chromium.js';

describe('"Your sessions" on the demo page in a real browser', { skip, timeout: 120_000 }, () => {
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

  async function signedIn(context: BrowserContext): Promise<Page> {
    const page = await context.newPage();
    await page.goto(`${stack.url}/app`);
    assert.ok(page.url().startsWith(stack.idpUrl), `the IdP's form, at ${page.url()}`);
    await page.fill('input[name="username"]', 'alice');
    await page.fill('input[name="password"]', 'alice');
    await Promise.all([page.waitForURL(`${stack.url}/app`), page.click('button[type="submit"], input[type="submit"]')]);
    return page;
  }

  test('two browsers: one sees both sessions, signs the other out, which is then asked to sign in; sign out everywhere', async () => {
    const laptop = await browser.newContext({ userAgent: 'Demo Laptop (Chromium)' });
    const phone = await browser.newContext({ userAgent: 'Demo Phone (Chromium)' });
    try {
      const onPhone = await signedIn(phone);
      const onLaptop = await signedIn(laptop);
      await onLaptop.reload();
      await onLaptop.waitForSelector('#sessions-list tr.session.other');
      assert.equal(await onLaptop.textContent('#sessions-count'), '2');
      const current = onLaptop.locator('#sessions-list tr.session.current');
      assert.match((await current.locator('.device').textContent()) ?? '', /^Demo Laptop \(Chromium\) this browser$/);
      assert.equal(await current.locator('button.sign-out-session').count(), 0, 'no Sign out button on this browser\'s row');
      const other = onLaptop.locator('#sessions-list tr.session.other');
      assert.equal(await other.locator('.device').textContent(), 'Demo Phone (Chromium)');
      assert.notEqual((await other.locator('.created').textContent())?.trim(), '');
      if (process.env.TESSERA_SCREENSHOTS) await onLaptop.screenshot({ path: join(process.env.TESSERA_SCREENSHOTS, 'sessions.png'), fullPage: true });

      await other.locator('button.sign-out-session').click();
      await onLaptop.waitForFunction(() => document.querySelectorAll('#sessions-list tr.session').length === 1);
      assert.equal(await onLaptop.textContent('#sessions-status'), 'Signed out that session.');

      // The phone's session is gone (and its IdP session ended): its next page asks it to sign in.
      await onPhone.goto(`${stack.url}/app`);
      assert.ok(onPhone.url().startsWith(stack.idpUrl), `the phone is asked to sign in, at ${onPhone.url()}`);
      assert.ok(await onPhone.isVisible('input[name="username"]'), 'the login form is shown');

      // The laptop is still signed in; Sign out everywhere ends it too.
      await onLaptop.reload();
      assert.equal(onLaptop.url(), `${stack.url}/app`);
      await Promise.all([onLaptop.waitForURL(`${stack.url}/`), onLaptop.click('#sign-out-everywhere')]);
      assert.equal(await onLaptop.textContent('#who'), 'You are not signed in.');
      assert.equal((await laptop.cookies(stack.url)).find((c) => c.name === 'tessera'), undefined, 'the session cookie is cleared');
      await onLaptop.goto(`${stack.url}/app`);
      assert.ok(onLaptop.url().startsWith(stack.idpUrl), `asked to sign in, at ${onLaptop.url()}`);
    } finally {
      await laptop.close();
      await phone.close();
    }
  });
});
