/**
 * `import 'tessera'` loads no database driver: each store's driver loads when a store of that kind
 * is created, so a Redis user never loads SQLite's native addon, and the gateway's HTTP client
 * (undici) loads only with `startGateway`. Each case runs in a fresh Node process.
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';

const root = fileURLToPath(new URL('../..', import.meta.url));
const run = promisify(execFile);
const packages = ['better-sqlite3', 'ioredis', 'pg', 'undici'];

/** Runs `code` after importing the package entry; answers the packages loaded, as JSON on stdout. */
async function loadedAfter(code: string, nodeOptions: string[] = []): Promise<{ loaded: string[]; output: unknown }> {
  const script = `
    import { createRequire } from 'node:module';
    const require = createRequire(process.cwd() + '/');
    const loaded = () => ${JSON.stringify(packages)}.filter((name) => Object.keys(require.cache).some((path) => path.includes('/node_modules/' + name + '/')));
    const tessera = await import('./src/index.ts');
    let output = null;
    ${code}
    console.log(JSON.stringify({ loaded: loaded(), output }));
  `;
  const { stdout } = await run(process.execPath, [...nodeOptions, '--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: root,
    env: { ...process.env, TESSERA_LOG_LEVEL: 'silent' },
  });
  return JSON.parse(stdout.trim().split('\n').pop() as string) as { loaded: string[]; output: unknown };
}

describe('store drivers load lazily', () => {
  it('importing the package loads none of better-sqlite3, ioredis, pg or undici', async () => {
    assert.deepEqual((await loadedAfter('')).loaded, []);
  });

  it('a memory store loads no driver', async () => {
    assert.deepEqual((await loadedAfter(`await tessera.openStore('memory:').close();`)).loaded, []);
  });

  it('a SQLite store loads better-sqlite3 only', async () => {
    const { loaded } = await loadedAfter(`const store = tessera.openStore('sqlite::memory:'); await store.ping(); await store.close();`);
    assert.deepEqual(loaded, ['better-sqlite3']);
  });

  it('a Redis store loads ioredis only', async () => {
    // Nothing listens on port 1: the store is created and closed without ever connecting.
    const { loaded } = await loadedAfter(`await tessera.openStore('redis://127.0.0.1:1').close();`);
    assert.deepEqual(loaded, ['ioredis']);
  });

  it('a PostgreSQL store loads pg only', async () => {
    const { loaded } = await loadedAfter(`await tessera.openStore('postgres://127.0.0.1:1/none').close();`);
    assert.deepEqual(loaded, ['pg']);
  });

  describe('when the driver is not installed', () => {
    let dir: string;
    let hide: string;
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'tessera-lazy-'));
      // Stands in for a platform where better-sqlite3 could not be installed: resolving it fails
      // exactly as it does when the package is absent.
      hide = join(dir, 'hide-better-sqlite3.cjs');
      await writeFile(
        hide,
        `const Module = require('node:module');
         const resolve = Module._resolveFilename;
         Module._resolveFilename = function (request, ...rest) {
           if (request === 'better-sqlite3') throw Object.assign(new Error("Cannot find module 'better-sqlite3'"), { code: 'MODULE_NOT_FOUND' });
           return resolve.call(this, request, ...rest);
         };`,
      );
    });
    after(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('other stores still work', async () => {
      const { loaded, output } = await loadedAfter(
        `const store = tessera.openStore('memory:'); output = await store.putOnce('marker', 1000); await store.close();`,
        ['--require', hide],
      );
      assert.deepEqual(loaded, []);
      assert.equal(output, true);
    });

    it('creating a store of that kind throws ERR_STORE_DRIVER_MISSING naming the package to install', async () => {
      const { output } = await loadedAfter(
        `try { tessera.sqliteStore({ path: ':memory:' }); } catch (err) { output = { code: err.code, message: err.message, isTesseraError: tessera.isTesseraError(err) }; }`,
        ['--require', hide],
      );
      assert.deepEqual(output, {
        code: 'ERR_STORE_DRIVER_MISSING',
        message: 'the SQLite session store needs the "better-sqlite3" package, which is not installed: run `npm install better-sqlite3`',
        isTesseraError: true,
      });
    });
  });
});
