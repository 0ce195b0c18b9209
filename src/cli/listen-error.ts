import type { TesseraConfig } from '../config/index.js';
import { TesseraError } from '../errors.js';

/** A port in use or not allowed, said in the terms of the settings that chose it. */
export function listenError(err: unknown, config: TesseraConfig): unknown {
  const { code, port } = (err ?? {}) as NodeJS.ErrnoException & { port?: number };
  const metrics = config.metricsAddress !== undefined && port === config.metricsAddress.port && port !== config.port;
  const where = metrics
    ? `${config.metricsAddress!.host}:${port} (TESSERA_METRICS_ADDRESS)`
    : `${config.host}:${config.port} (TESSERA_HOST, TESSERA_PORT)`;
  if (code === 'EADDRINUSE') return new TesseraError('ERR_CONFIG_LISTEN', `cannot listen on ${where}: the address is already in use`, { cause: err });
  if (code === 'EACCES') return new TesseraError('ERR_CONFIG_LISTEN', `cannot listen on ${where}: permission denied (ports below 1024 need privileges)`, { cause: err });
  if (code === 'EADDRNOTAVAIL') return new TesseraError('ERR_CONFIG_LISTEN', `cannot listen on ${where}: no such address on this machine`, { cause: err });
  return err;
}
