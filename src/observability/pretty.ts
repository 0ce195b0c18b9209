import type { DestinationStream } from 'pino';

const colors: Record<string, string> = { debug: '\x1b[90m', info: '\x1b[36m', warn: '\x1b[33m', error: '\x1b[31m' };
const reset = '\x1b[0m';
const hidden = new Set(['time', 'level', 'msg', 'pid', 'hostname']);

/**
 * A pino destination for `tessera dev` on a terminal: `12:03:07 WARN  callback rejected
 * reason=transaction_not_found`, one line per event. Anything that is not a JSON line passes
 * through as it is.
 */
export function prettyDestination(write: (text: string) => void, color: boolean): DestinationStream {
  return {
    write(line: string) {
      let event: Record<string, unknown>;
      try {
        event = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return write(line);
      }
      const level = String(event.level ?? '');
      const time = typeof event.time === 'string' ? new Date(event.time).toTimeString().slice(0, 8) : '';
      const label = level.toUpperCase().padEnd(5);
      const shown = Object.entries(event).filter(([key]) => !hidden.has(key));
      // A stack trace reads best as it was written: below the line, indented.
      const blocks = shown.filter(([, value]) => typeof value === 'string' && value.includes('\n'));
      const fields = shown
        .filter((entry) => !blocks.includes(entry))
        .map(([key, value]) => `${key}=${typeof value === 'string' && !/[\s"=]/.test(value) ? value : JSON.stringify(value)}`);
      const head = color ? `${colors[level] ?? ''}${label}${reset}` : label;
      const below = blocks.map(([key, value]) => `\n  ${key}: ${String(value).replace(/\n/g, '\n  ')}`).join('');
      write(`${time} ${head} ${String(event.msg ?? '')}${fields.length > 0 ? `  ${fields.join(' ')}` : ''}${below}\n`);
    },
  };
}
