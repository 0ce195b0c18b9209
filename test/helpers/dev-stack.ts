import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './ports.js';

const entry = fileURLToPath(new URL('./cli-entry.ts', import.meta.url));
const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

export interface DevStack {
  url: string;
  port: number;
  idpPort: number;
  idpUrl: string;
  /** The folder it runs in (its `.tessera/` holds the SQLite store and the IdP state). */
  cwd: string;
  output(): string;
  child: ChildProcess;
  close(): Promise<void>;
}

/** `tessera dev` (what `npm start` runs) in a child process, in a fresh folder, on free ports. */
export async function startDevStack(env: NodeJS.ProcessEnv = {}, options: { cwd?: string; port?: number; idpPort?: number; keepFolder?: boolean } = {}): Promise<DevStack> {
  const cwd = options.cwd ?? mkdtempSync(join(tmpdir(), 'tessera-dev-'));
  const port = options.port ?? await freePort();
  const idpPort = options.idpPort ?? await freePort();
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TESSERA_')));
  const child = spawn(process.execPath, ['--import', tsx, entry, 'dev'], {
    cwd,
    env: { ...clean, TESSERA_PORT: String(port), TESSERA_DEV_IDP_PORT: String(idpPort), TESSERA_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const url = `http://localhost:${port}`;
  for (let i = 0; i < 100 && !output.includes('Press Ctrl+C'); i++) {
    if (child.exitCode !== null) break;
    await sleep(100);
  }
  if (!output.includes('Press Ctrl+C')) {
    child.kill('SIGKILL');
    throw new Error(`tessera dev did not start:\n${output}`);
  }
  return {
    url,
    port,
    idpPort,
    cwd,
    idpUrl: `http://localhost:${idpPort}`,
    output: () => output,
    child,
    async close() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await Promise.race([exited, sleep(5000)]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      if (!options.keepFolder) rmSync(cwd, { recursive: true, force: true });
    },
  };
}
