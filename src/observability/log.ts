/**
 * A minimal structured logger: one JSON line per event on stderr. The level comes from
 * `TESSERA_LOG_LEVEL` (debug | info | warn | error | silent), default `info`.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
const order: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  enabled(level: LogLevel): boolean;
}

export function createLogger(level: LogLevel = readLevel(), write: (line: string) => void = (l) => process.stderr.write(l + '\n')): Logger {
  const threshold = order[level];
  const emit = (lvl: Exclude<LogLevel, 'silent'>, msg: string, fields?: Record<string, unknown>) => {
    if (order[lvl] < threshold) return;
    write(JSON.stringify({ time: new Date().toISOString(), level: lvl, msg, ...fields }));
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    enabled: (lvl) => order[lvl] >= threshold,
  };
}

function readLevel(): LogLevel {
  const value = process.env.TESSERA_LOG_LEVEL;
  return value !== undefined && value in order ? (value as LogLevel) : 'info';
}

/** The process-wide logger. */
export const logger: Logger = createLogger();
