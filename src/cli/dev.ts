import { checkConfig, checkSettings, loadConfig } from '../config/index.js';
import type { SettingName } from '../config/schema.js';
import { DEV_CLIENT_ID, DEV_CLIENT_SECRET, startDevIdp } from '../dev-idp/index.js';
import { startDemoApp } from '../dev/demo-app.js';
import { startGateway } from '../gateway/server.js';
import { createLogger } from '../observability/log.js';
import { prettyDestination } from '../observability/pretty.js';
import { createTessera } from '../tessera.js';
import { onShutdown } from './command.js';
import { configFileOf, fail } from './settings.js';

/** What the dev stack sets for the gateway: the dev IdP and its client, unless the file or the environment say otherwise. */
const devDefaults = (issuer: string, discoveryUrl: string): Partial<Record<SettingName, string>> => ({
  TESSERA_ISSUER: issuer,
  TESSERA_DISCOVERY_URL: discoveryUrl,
  TESSERA_CLIENT_ID: DEV_CLIENT_ID,
  TESSERA_CLIENT_SECRET: DEV_CLIENT_SECRET,
});
const forced = { TESSERA_DEVELOPMENT: 'true' };

/**
 * `tessera dev` (= `npm start`): the dev IdP, a demo app and the gateway in front of it, on the
 * embedded defaults (SQLite under `.tessera/`). `TESSERA_UPSTREAM` replaces the demo app. Every
 * setting (the dev IdP's included) is read by the one loader, from `--config` and the environment.
 */
export async function runDev(values: Record<string, string | boolean | undefined>): Promise<number> {
  const env = process.env;
  const configFile = configFileOf(values);
  // Everything is checked before anything starts (stand-ins for the dev IdP's URLs, which are
  // known only once it listens): every problem at once, and nothing left running.
  const idpSettings = checkSettings(['TESSERA_DEV_IDP_PORT', 'TESSERA_DEV_IDP_ACCESS_TOKEN_TTL'], env, configFile);
  const checked = checkConfig(env, configFile, forced, devDefaults('http://localhost/', 'http://localhost/.well-known/openid-configuration'));
  if (!idpSettings.ok || !checked.ok) fail([], [...(idpSettings.ok ? [] : idpSettings.problems), ...(checked.ok ? [] : checked.problems)]);

  // One logger for the stack: JSON lines, or one readable line per event on a terminal.
  const logger = createLogger({
    level: checked.config.logLevel,
    ...(process.stderr.isTTY ? { destination: prettyDestination((text) => process.stderr.write(text), process.stderr.hasColors()) } : {}),
  });
  const idp = await startDevIdp({
    quiet: true,
    logger: logger.child({ component: 'dev-idp' }),
    dataDir: checked.config.dataDir,
    port: idpSettings.settings.TESSERA_DEV_IDP_PORT,
    accessTokenTtl: idpSettings.settings.TESSERA_DEV_IDP_ACCESS_TOKEN_TTL,
  });
  const demo = checked.config.upstream ? undefined : await startDemoApp().catch(async (err: unknown) => {
    await idp.close();
    throw err;
  });
  const stop = async () => {
    await demo?.close();
    await idp.close();
  };
  let config;
  let gateway;
  try {
    config = loadConfig(env, configFile, forced, {
      ...devDefaults(idp.issuer, idp.discoveryUrl),
      ...(demo ? { TESSERA_UPSTREAM: demo.url } : {}),
    });
    gateway = await startGateway(createTessera(config, { logger }), { upstream: config.upstream!, port: config.port, host: config.host });
  } catch (err) {
    await stop();
    throw err;
  }
  console.log([
    '',
    `Tessera development stack is running — for development only.`,
    '',
    `  Open            ${config.publicUrl}`,
    `  Gateway         ${gateway.url} → ${demo ? `demo app (${demo.url})` : config.upstream}`,
    `  Dev IdP         ${idp.issuer} (discovery ${idp.discoveryUrl})`,
    `  Session store   ${config.store}`,
    ...(gateway.metricsUrl ? [`  Metrics         ${gateway.metricsUrl}/metrics`] : []),
    `  Demo users      alice / alice (roles admin, user)   bob / bob (role user)   MFA code 123456`,
    '',
    'Press Ctrl+C to stop.',
  ].join('\n'));
  return onShutdown(async () => {
    await gateway.close();
    await stop();
  });
}
