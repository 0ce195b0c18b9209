import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { startDevIdp, type DevIdp } from '../../src/dev-idp/index.js';
import { launchChromium, signInOnIdpForm, skipBrowser as skip } from '../browser/chromium.js';
import { startExample, type RunningExample } from './support.js';

/** examples/spa in real Chromium: /auth/session, the 401 JSON, the step-up 401, sign-out. */
describe('examples/spa in a real browser', { skip, timeout: 120_000 }, () => {
  let idp: DevIdp;
  let dataDir: string;
  let app: RunningExample;
  let browser: Browser;
  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'tessera-examples-'));
    idp = await startDevIdp({ port: 0, dataDir, quiet: true });
    app = await startExample('spa', idp);
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await app?.close();
    await idp?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('not signed in, the API 401, sign in, the step-up 401 and MFA, sign out', async () => {
    const context = await browser.newContext();
    context.setDefaultTimeout(15_000);
    const page = await context.newPage();
    const result = () => page.textContent('#result');
    await page.goto(`${app.url}/`);
    await page.waitForFunction(() => document.getElementById('who')?.textContent !== '…');
    assert.equal(await page.textContent('#who'), 'You are not signed in.');
    await page.click('#call-me');
    await page.waitForFunction(() => document.getElementById('result')?.textContent?.startsWith('401'));
    assert.match((await result()) ?? '', /login_required/);
    assert.ok(await page.isVisible('#next'), 'the 401 offers a sign-in');

    await Promise.all([page.waitForURL((u) => u.href.startsWith(idp.url)), page.click('#sign-in')]);
    await signInOnIdpForm(page, 'alice', `${app.url}/`);
    await page.waitForFunction(() => document.getElementById('who')?.textContent?.startsWith('Signed in'));
    assert.equal(await page.textContent('#who'), 'Signed in as alice (acr pwd)');
    await page.click('#call-me');
    await page.waitForFunction(() => document.getElementById('result')?.textContent?.startsWith('200'));
    assert.match((await result()) ?? '', /"sub":"alice"/);

    await page.click('#call-admin');
    await page.waitForFunction(() => document.getElementById('result')?.textContent?.startsWith('401'));
    assert.match((await result()) ?? '', /insufficient_user_authentication/);
    assert.equal(await page.textContent('#next'), 'Verify (mfa)');
    await Promise.all([page.waitForURL((u) => u.href.startsWith(idp.url)), page.click('#next')]);
    await page.fill('input[name="otp"]', '123456');
    await Promise.all([page.waitForURL((u) => u.href.startsWith(app.url)), page.click('button[type="submit"]')]);
    await page.goto(`${app.url}/`);
    await page.waitForFunction(() => document.getElementById('who')?.textContent?.startsWith('Signed in'));
    assert.equal(await page.textContent('#who'), 'Signed in as alice (acr mfa)');
    await page.click('#call-admin');
    await page.waitForFunction(() => document.getElementById('result')?.textContent?.startsWith('200'));

    await Promise.all([page.waitForURL((u) => u.pathname === '/auth/signed-out'), page.click('#sign-out')]);
    assert.equal(await page.textContent('h1'), 'You are signed out');
    await page.goto(`${app.url}/`);
    await page.waitForFunction(() => document.getElementById('who')?.textContent !== '…');
    assert.equal(await page.textContent('#who'), 'You are not signed in.');
    await context.close();
  });
});
