import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { signInOnIdpForm, skipBrowser as skip, useDemoInBrowser } from './chromium.js';

describe('"Your sessions" on the demo page in a real browser', { skip, timeout: 120_000 }, () => {
  const demo = useDemoInBrowser();

  async function signedIn(context: BrowserContext): Promise<Page> {
    const page = await context.newPage();
    await page.goto(`${demo.stack.url}/app`);
    assert.ok(page.url().startsWith(demo.stack.idpUrl), `the IdP's form, at ${page.url()}`);
    await signInOnIdpForm(page, 'alice', `${demo.stack.url}/app`);
    return page;
  }

  test('two browsers: one sees both sessions, signs the other out, which is then asked to sign in; sign out everywhere', async () => {
    const laptop = await demo.browser.newContext({ userAgent: 'Demo Laptop (Chromium)' });
    const phone = await demo.browser.newContext({ userAgent: 'Demo Phone (Chromium)' });
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
      await onPhone.goto(`${demo.stack.url}/app`);
      assert.ok(onPhone.url().startsWith(demo.stack.idpUrl), `the phone is asked to sign in, at ${onPhone.url()}`);
      assert.ok(await onPhone.isVisible('input[name="username"]'), 'the login form is shown');

      // The laptop is still signed in; Sign out everywhere ends it too.
      await onLaptop.reload();
      assert.equal(onLaptop.url(), `${demo.stack.url}/app`);
      await Promise.all([onLaptop.waitForURL(`${demo.stack.url}/`), onLaptop.click('#sign-out-everywhere')]);
      assert.equal(await onLaptop.textContent('#who'), 'You are not signed in.');
      assert.equal((await laptop.cookies(demo.stack.url)).find((c) => c.name === 'tessera'), undefined, 'the session cookie is cleared');
      await onLaptop.goto(`${demo.stack.url}/app`);
      assert.ok(onLaptop.url().startsWith(demo.stack.idpUrl), `asked to sign in, at ${onLaptop.url()}`);
    } finally {
      await laptop.close();
      await phone.close();
    }
  });
});
