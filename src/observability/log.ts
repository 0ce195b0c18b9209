import { pino, type DestinationStream } from 'pino';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

export type LogFields = Record<string, unknown>;

/**
 * What Tessera logs through: pino's call shape, fields first (`logger.warn({ reason }, 'callback
 * rejected')`), so a pino logger, a Fastify `app.log` or `request.log` is passed as it is. Tessera
 * never logs a token, a session id, a store key or a secret; sessions appear by their `ref`.
 */
export interface Logger {
  debug(fields: LogFields, msg: string): void;
  info(fields: LogFields, msg: string): void;
  warn(fields: LogFields, msg: string): void;
  error(fields: LogFields, msg: string): void;
  child(bindings: LogFields): Logger;
}

export interface LoggerOptions {
  level: LogLevel;
  /** Where the JSON lines go; default stderr, written synchronously (stdout stays the CLI's). */
  destination?: DestinationStream;
}

/** A pino logger: one JSON line per event, `level` as a word and `time` in ISO 8601. */
export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination ?? pino.destination({ dest: 2, sync: true }),
  );
}

const ignore = (): void => undefined;

/** Logs nothing: the default of the parts that can be built alone (stores, token verifiers). */
export const silentLogger: Logger = Object.freeze({
  debug: ignore,
  info: ignore,
  warn: ignore,
  error: ignore,
  child: () => silentLogger,
});
