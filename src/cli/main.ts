import { isTesseraError } from '../errors.js';
import { commands } from './commands.js';
import { helpFor, parse, UsageError } from './command.js';

const overview = () => [
  'Usage: tessera <command> [options]',
  '',
  'Commands:',
  ...commands.map((c) => `  ${c.name.padEnd(13)} ${c.summary.split('. ')[0]!.replace(/\.$/, '')}`),
  '',
  'Run `tessera <command> --help` for the options of a command.',
].join('\n');

/** Runs the CLI; resolves to the exit code. Usage errors exit 2, configuration errors 1. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(overview());
    return name === undefined ? 2 : 0;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    console.error(`Unknown command "${name}".\n\n${overview()}`);
    return 2;
  }
  try {
    const { values, positionals } = parse(command, rest);
    if (values.help) {
      console.log(helpFor(command));
      return 0;
    }
    return (await command.run(values as Record<string, string | boolean | undefined>, positionals)) ?? 0;
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(err.message);
      return 2;
    }
    if (isTesseraError(err)) {
      console.error(err.message);
      return 1;
    }
    throw err;
  }
}
