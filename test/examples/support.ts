import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { generateKeyEntry } from '../../src/keys/index.js';
import type { DevIdp } from '../../src/dev-idp/index.js';
import { freePort } from '../helpers/ports.js';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

export interface RunningExample {
  url: string;
  output(): string;
  close(): Promise<void>;
}

/** The settings an example gets against the dev IdP: what examples/dev-idp.env says, on a free port. */
export function exampleEnv(idp: DevIdp, port: number): NodeJS.ProcessEnv {
  return {
    TESSERA_ISSUER: idp.issuer,
    TESSERA_DISCOVERY_URL: idp.discoveryUrl,
    TESSERA_CLIENT_ID: 'tessera-dev',
    TESSERA_CLIENT_SECRET: 'tessera-dev-secret',
    TESSERA_PUBLIC_URL: `http://localhost:${port}`,
    TESSERA_PORT: String(port),
    TESSERA_HOST: '127.0.0.1',
    TESSERA_KEYS: generateKeyEntry(),
    TESSERA_STORE: 'memory:',
    TESSERA_LOG_LEVEL: 'warn',
  };
}

/**
 * Starts a process (an example, as its README runs it, from the repository root) and waits for
 * the line matching `ready`. Killed on close.
 */
export async function startProcess(command: string, args: string[], env: NodeJS.ProcessEnv, ready: RegExp, url: string): Promise<RunningExample> {
  const child = spawn(command, args, { cwd: repoRoot, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${command} ${args.join(' ')} did not start within 20 s:\n${output}`)), 20_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (ready.test(output)) { clearTimeout(timer); resolve(); }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`${command} exited with ${code}:\n${output}`)); });
  });
  return {
    url,
    output: () => output,
    async close() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Starts `examples/<name>/server.js` with node against the dev IdP. */
export async function startExample(name: string, idp: DevIdp): Promise<RunningExample> {
  const port = await freePort();
  return startProcess(process.execPath, [`examples/${name}/server.js`], exampleEnv(idp, port), /listening on/, `http://localhost:${port}`);
}
