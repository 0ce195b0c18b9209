import { readFileSync } from 'node:fs';
import { checkConfig, checkSettings, loadConfig } from '../config/index.js';
import type { RouteRule } from '../config/routes.js';
import type { SettingName } from '../config/schema.js';
import { DEV_CLIENT_ID, DEV_CLIENT_SECRET, startDevIdp } from '../dev-idp/index.js';
import { demoRouteRules, startDemoApp } from '../dev/demo-app.js';
import { startGateway } from '../gateway/server.js';
import { listenError } from './listen-error.js';
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
 * In front of the demo app the gateway gets the demo's route rules (`demoRouteRules`) as a
 * default: `TESSERA_ROUTES` (environment or `--config`) replaces them. An app of your own
 * (`TESSERA_UPSTREAM`) gets only the rules you set: every path needs a session otherwise.
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
      ...(demo ? { TESSERA_UPSTREAM: demo.url, TESSERA_ROUTES: JSON.stringify(demoRouteRules) } : {}),
    });
    const tessera = createTessera(config, { logger });
    const listening = config;
    gateway = await startGateway(tessera, { upstream: config.upstream!, port: config.port, host: config.host }).catch(async (err: unknown) => {
      await tessera.close();
      throw listenError(err, listening);
    });
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
    ...routesBanner(config.routes, demo !== undefined && !routesGiven(env, configFile)),
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

/** Whether the user set `TESSERA_ROUTES` (the environment, or the `--config` file, which the loader has read already). */
function routesGiven(env: NodeJS.ProcessEnv, configFile: string | undefined): boolean {
  if (env.TESSERA_ROUTES !== undefined && env.TESSERA_ROUTES !== '') return true;
  if (configFile === undefined) return false;
  try {
    const json = JSON.parse(readFileSync(configFile, 'utf8')) as Record<string, unknown>;
    return json.TESSERA_ROUTES !== undefined && json.TESSERA_ROUTES !== '';
  } catch {
    return false;
  }
}

/** The banner's lines for the route rules: one short phrase per rule, in order. */
export function routesBanner(rules: readonly RouteRule[], demoDefaults: boolean): string[] {
  const rest = 'anything else needs a session';
  if (rules.length === 0) return [`  Route rules     none: every path needs a session (set TESSERA_ROUTES)`];
  const phrases = rules.map((rule) => {
    let what: string;
    if (rule.auth === 'none') what = 'public';
    else if (rule.auth === 'optional') what = 'optional sign-in';
    else {
      const needs = [
        ...(rule.roles ? [`role ${rule.roles.join('|')}`] : []),
        ...(rule.acr ? [`acr ${rule.acr}`] : []),
        ...(rule.maxAgeMs !== undefined ? [`signed in < ${rule.maxAgeMs % 60_000 === 0 ? `${rule.maxAgeMs / 60_000}m` : `${Math.round(rule.maxAgeMs / 1000)}s`} ago`] : []),
      ];
      what = needs.length > 0 ? needs.join(' + ') : 'session';
    }
    const methods = rule.methods ? ` ${rule.methods.join(',')}` : '';
    const upstream = rule.upstream ? ` → ${rule.upstream}` : '';
    return `${rule.path}${rule.exact ? ' (exact)' : ''}${methods} ${what}${upstream}`;
  });
  return [
    `  Route rules     ${phrases.join(' · ')} · ${rest}`,
    `                  ${demoDefaults ? "(the demo's defaults; TESSERA_ROUTES replaces them)" : '(from TESSERA_ROUTES; the first rule that matches wins)'}`,
  ];
}
