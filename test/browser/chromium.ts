import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

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
