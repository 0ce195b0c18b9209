import { loadConfig } from '../config/index.js';
import { startDevIdp } from '../dev-idp/index.js';
import { startDemoApp } from '../dev/demo-app.js';
import { startGateway } from '../gateway/server.js';
import { createTessera } from '../tessera.js';
import { onShutdown } from './command.js';

/**
 * `tessera dev` (= `npm start`): the dev IdP, a demo app and the gateway in front of it, on the
 * embedded defaults (SQLite under `.tessera/`). `TESSERA_UPSTREAM` replaces the demo app.
 */
export async function runDev(configFile?: string): Promise<number> {
  const idp = await startDevIdp({ quiet: true, dataDir: process.env.TESSERA_DATA_DIR });
  const demo = process.env.TESSERA_UPSTREAM ? undefined : await startDemoApp();
  const config = loadConfig(process.env, configFile, {
    TESSERA_ISSUER: process.env.TESSERA_ISSUER ?? idp.issuer,
    TESSERA_DISCOVERY_URL: process.env.TESSERA_DISCOVERY_URL ?? idp.discoveryUrl,
    TESSERA_CLIENT_ID: process.env.TESSERA_CLIENT_ID ?? 'tessera-dev',
    TESSERA_CLIENT_SECRET: process.env.TESSERA_CLIENT_SECRET ?? 'tessera-dev-secret',
    TESSERA_DEVELOPMENT: 'true',
    ...(demo ? { TESSERA_UPSTREAM: demo.url } : {}),
  });
  const tessera = createTessera(config);
  const gateway = await startGateway(tessera, { upstream: config.upstream!, port: config.port, host: config.host });
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
    await demo?.close();
    await idp.close();
  });
}
