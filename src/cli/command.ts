import { parseArgs, type ParseArgsConfig } from 'node:util';

export interface Command {
  name: string;
  summary: string;
  usage: string;
  options: NonNullable<ParseArgsConfig['options']>;
  /** Takes positional arguments (e.g. `sessions list`). */
  positionals?: string[];
  run(values: Record<string, string | boolean | undefined>, positionals: string[]): Promise<number | void>;
}

export class UsageError extends Error {}

export function parse(command: Command, args: string[]) {
  try {
    return parseArgs({ args, options: { ...command.options, help: { type: 'boolean', short: 'h' } }, allowPositionals: command.positionals !== undefined, strict: true });
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n\n${helpFor(command)}`);
  }
}

export function helpFor(command: Command): string {
  const lines = [`Usage: ${command.usage}`, '', command.summary, '', 'Options:'];
  for (const [name, option] of Object.entries(command.options)) {
    lines.push(`  --${name}${option.type === 'string' ? ' <value>' : ''}`);
  }
  lines.push('  --help        show this help');
  return lines.join('\n');
}

/** Stops the long-running commands gracefully on SIGTERM / SIGINT. */
export function onShutdown(close: () => Promise<void>, announce = true): Promise<number> {
  return new Promise((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      if (announce) console.error(`\n${signal}: shutting down…`);
      close().then(() => resolve(0), (err: unknown) => {
        console.error(err);
        resolve(1);
      });
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}
