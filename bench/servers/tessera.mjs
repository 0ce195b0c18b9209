// `tessera serve` from the built package (dist/): loadConfig(env) → createTessera → startGateway,
// exactly what bin/tessera.js serve runs. The one addition is BENCH_REDIS_PREFIX, a key prefix for
// Redis, so a bench run never touches anyone else's keys.
import { createTessera, loadConfig, openStore, startGateway } from '../../dist/index.js';
import { ready } from './ready.mjs';

const config = loadConfig(process.env);
const prefix = process.env.BENCH_REDIS_PREFIX;
const store = openStore(config.store, prefix && config.store.startsWith('redis') ? { prefix } : {});
const tessera = createTessera(config, { store });
const gateway = await startGateway(tessera, { upstream: config.upstream, port: config.port, host: config.host });
ready({ port: config.port, url: gateway.url });
