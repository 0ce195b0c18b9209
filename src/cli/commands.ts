import { availableParallelism } from 'node:os';
import { describeConfig, loadConfig, type TesseraConfig } from '../config/index.js';
import { developmentKeys, generateKeyEntry } from '../keys/index.js';
import { startDevIdp } from '../dev-idp/index.js';
import { startGateway } from '../gateway/server.js';
import { answerPrimary, isWorker, leavePrimary, runWorkers, shareInvalidations } from '../gateway/workers.js';
import { createLogger } from '../observability/log.js';
import { listenError } from './listen-error.js';
import { createTessera } from '../tessera.js';
import { describeStore, migrateStore, openStore, parseStoreSpec } from '../stores/index.js';
import { sessionRefFor } from '../session/ids.js';
import { onShutdown, UsageError, type Command } from './command.js';
import { runDev } from './dev.js';
import { configFileOf, readSettings } from './settings.js';

const configOption = { config: { type: 'string' as const } };

export const commands: Command[] = [
  {
    name: 'serve',
    summary: 'Run the gateway: /auth/* routes, and every other request proxied to TESSERA_UPSTREAM when signed in.',
    usage: 'tessera serve [--config file.json]',
    options: configOption,
    async run(values) {
      const config = loadConfig(process.env, configFileOf(values));
      if (!config.upstream) throw new UsageError('TESSERA_UPSTREAM: required for tessera serve (the application to proxy to)');
      const workers = config.workers === 'auto' ? availableParallelism() : config.workers;
      if (workers > 1 && !isWorker()) return serveWithWorkers(config, workers);
      const logger = createLogger({ level: config.logLevel });
      const store = shareInvalidations(openStore(config.store, { logger }), logger);
      const tessera = createTessera(config, { store, logger });
      answerPrimary({ metrics: () => tessera.metrics.registry.getMetricsAsJSON(), ready: () => tessera.ready() }, logger);
      const gateway = await startGateway(tessera, { upstream: config.upstream, port: config.port, host: config.host, metrics: !isWorker() })
        .catch(async (err: unknown) => {
          await tessera.close();
          leavePrimary(); // a worker that cannot listen exits, and the primary reports it
          throw listenError(err, config);
        });
      const worker = isWorker() ? { worker: Number(process.env.TESSERA_WORKER) } : {};
      logger.info({ ...worker, url: gateway.url, publicUrl: config.publicUrl, upstream: config.upstream, metricsUrl: gateway.metricsUrl }, 'gateway listening');
      return onShutdown(async () => {
        await gateway.close();
        leavePrimary();
      }, !isWorker());
    },
  },
  {
    name: 'dev',
    summary: 'Run the development stack: the dev identity provider, the gateway and a demo app (what `npm start` runs).',
    usage: 'tessera dev [--config file.json]',
    options: configOption,
    run: (values) => runDev(values),
  },
  {
    name: 'dev-idp',
    summary: 'Run the development identity provider alone (shaped like Mosaic; for development and tests only). Reads TESSERA_DEV_IDP_PORT, TESSERA_DEV_IDP_ACCESS_TOKEN_TTL and TESSERA_DATA_DIR from the environment or --config; flags win.',
    usage: 'tessera dev-idp [--config file.json] [--port 4000] [--data-dir .tessera] [--users users.json] [--clients clients.json]',
    options: { ...configOption, port: { type: 'string' }, 'data-dir': { type: 'string' }, users: { type: 'string' }, clients: { type: 'string' } },
    async run(values) {
      const settings = readSettings(['TESSERA_DEV_IDP_PORT', 'TESSERA_DEV_IDP_ACCESS_TOKEN_TTL', 'TESSERA_DATA_DIR'], values, {
        TESSERA_DEV_IDP_PORT: 'port',
        TESSERA_DATA_DIR: 'data-dir',
      });
      const idp = await startDevIdp({
        port: settings.TESSERA_DEV_IDP_PORT,
        accessTokenTtl: settings.TESSERA_DEV_IDP_ACCESS_TOKEN_TTL,
        dataDir: settings.TESSERA_DATA_DIR,
        usersFile: values.users as string | undefined,
        clientsFile: values.clients as string | undefined,
      });
      return onShutdown(() => idp.close());
    },
  },
  {
    name: 'check-config',
    summary: 'Validate the configuration and print it resolved, secrets masked.',
    usage: 'tessera check-config [--config file.json]',
    options: configOption,
    async run(values) {
      const config = loadConfig(process.env, configFileOf(values));
      parseStoreSpec(config.store); // the store URL is checked here, not by the settings schema
      console.log(JSON.stringify(describeConfig(config), null, 2));
      console.log('configuration ok');
    },
  },
  {
    name: 'keys',
    summary: 'keys generate: print a new sealing key ring line (TESSERA_KEYS=<kid>:<secret>). To rotate, put the new entry first, comma-separated, and drop the old one after TESSERA_ABSOLUTE_TIMEOUT.',
    usage: 'tessera keys generate',
    options: {},
    positionals: ['generate'],
    async run(_values, positionals) {
      if (positionals.length !== 1 || positionals[0] !== 'generate') throw new UsageError('expected: tessera keys generate');
      console.log(`TESSERA_KEYS=${generateKeyEntry()}`);
    },
  },
  {
    name: 'store',
    summary: 'store migrate: create what the store named by TESSERA_STORE needs (PostgreSQL tables and indexes, the SQLite file). Idempotent; Redis and memory need nothing.',
    usage: 'tessera store migrate [--config file.json]',
    options: configOption,
    positionals: ['migrate'],
    async run(values, positionals) {
      if (positionals.length !== 1 || positionals[0] !== 'migrate') throw new UsageError('expected: tessera store migrate');
      const spec = readSettings(['TESSERA_STORE'], values).TESSERA_STORE;
      console.log(`migrating ${describeStore(spec)} …`);
      console.log(`store ready: ${await migrateStore(spec)}`);
    },
  },
  {
    name: 'sessions',
    summary: 'List or revoke the sessions of a user in the store named by TESSERA_STORE (from the environment or --config).',
    usage: 'tessera sessions list --sub <user> [--config file.json] | tessera sessions revoke --sub <user> [--ref <session ref>] [--config file.json]',
    options: { ...configOption, sub: { type: 'string' }, ref: { type: 'string' } },
    positionals: ['list', 'revoke'],
    async run(values, positionals) {
      const action = positionals[0];
      if (positionals.length !== 1 || (action !== 'list' && action !== 'revoke')) throw new UsageError('expected: tessera sessions list|revoke --sub <user>');
      const missing = typeof values.sub === 'string' ? [] : ['--sub: required (the user id)'];
      const { TESSERA_STORE: spec } = readSettings(['TESSERA_STORE'], values, {}, missing);
      const sub = values.sub as string;
      const store = openStore(spec);
      try {
        const sessions = await store.listByUser(sub);
        if (action === 'list') {
          for (const { key, record } of sessions) {
            console.log(`${sessionRefFor(key)}  created ${new Date(record.createdAt).toISOString()}  idle until ${new Date(record.idleExpiresAt).toISOString()}`);
          }
          console.log(`${sessions.length} session(s) for ${sub}`);
          return;
        }
        const targets = typeof values.ref === 'string' ? sessions.filter(({ key }) => sessionRefFor(key) === values.ref) : sessions;
        let revoked = 0;
        for (const { key } of targets) if (await store.delete(key)) revoked += 1;
        console.log(`revoked ${revoked} session(s) for ${sub}`);
        return revoked === 0 && typeof values.ref === 'string' ? 1 : 0;
      } finally {
        await store.close();
      }
    },
  },
];


/** `tessera serve` with TESSERA_WORKERS > 1: this process forks the workers and waits. */
async function serveWithWorkers(config: TesseraConfig, count: number): Promise<number> {
  const logger = createLogger({ level: config.logLevel });
  // Generated before the fork, so every worker reads the same development key ring.
  if (config.keys === undefined) developmentKeys(config.dataDir);
  // Each worker drains within TESSERA_SHUTDOWN_TIMEOUT; past that and a little more, it is killed.
  const workers = await runWorkers({ count, logger, metricsAddress: config.metricsAddress, shutdownTimeoutMs: config.shutdownTimeoutMs + 2000 })
    .catch((err: unknown) => {
      throw listenError(err, config);
    });
  logger.info({ workers: count, pids: workers.pids(), metricsUrl: workers.metricsUrl }, 'gateway workers listening');
  return onShutdown(() => workers.close());
}
