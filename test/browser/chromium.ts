import { existsSync } from 'node:fs';
import { after, before } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startDevStack, type DevStack } from '../helpers/dev-stack.js';

/** The Chromium the browser tests drive (`CHROMIUM_PATH`, default /usr/bin/chromium). */
export const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** A reason to skip the browser tests (no Chromium, outside CI), or false. */
export const skipBrowser: string | false = !existsSync(executablePath) && !process.env.CI
  ? `no Chromium at ${executablePath} (apt-get install chromium)` : false;

/** Headless Chromium with nothing running in the background that could reach the network. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-quic', '--no-first-run', '--disable-sync'],
  });
}

export interface DemoInBrowser {
  /** `tessera dev` (what `npm start` runs). */
  readonly stack: DevStack;
  /** Headless Chromium. */
  readonly browser: Browser;
}

/**
 * `tessera dev` and a headless Chromium for the tests of the enclosing `describe`: registers a
 * `before` hook that starts both and an `after` hook that closes the browser, then the demo. Read
 * `stack` and `browser` from the returned object inside the tests (they exist once `before` ran).
 */
export function useDemoInBrowser(): DemoInBrowser {
  let stack: DevStack | undefined;
  let browser: Browser | undefined;
  before(async () => {
    stack = await startDevStack();
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await stack?.close();
  });
  const started = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`${what} is not started: use it inside a test`);
    return value;
  };
  return {
    get stack() { return started(stack, 'tessera dev'); },
    get browser() { return started(browser, 'Chromium'); },
  };
}

/**
 * On the dev IdP's password form shown in `page`: signs in as `username` (whose password is the
 * same word, as for the dev IdP's users) and waits for the redirect back to `landing`.
 */
export async function signInOnIdpForm(page: Page, username: string, landing: string): Promise<void> {
  await page.fill('input[name="username"]', username);
  await page.fill('input[name="password"]', username);
  await Promise.all([page.waitForURL(landing), page.click('button[type="submit"]')]);
}
