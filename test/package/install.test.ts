import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';

const exec = promisify(execFile);
const root = new URL('../..', import.meta.url).pathname;
const own = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  exports: Record<string, unknown>; devDependencies: Record<string, string>;
};

/**
 * The packed package as a user gets it: `npm pack` of the built dist/ (CI builds first; scripts
 * off so that no rebuild races the example tests reading dist/), installed into an empty
 * project with its dependencies from the registry (or the npm cache), then its command and the
 * types of every subpath export used from TypeScript.
 */
describe('the packed tarball in an empty project', { timeout: 240_000 }, () => {
  let dir: string;
  const run = (command: string, args: string[]) => exec(command, args, { cwd: dir, timeout: 180_000, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, npm_config_loglevel: 'error' } });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tessera-install-'));
    const { stdout } = await exec('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], { cwd: root, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 });
    const tarball = join(dir, (JSON.parse(stdout.slice(stdout.indexOf('['))) as Array<{ filename: string }>)[0]!.filename);
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'tessera-user', private: true, type: 'module' }));
    // The frameworks are optional peers: a user of tessera/express has express (and its types).
    const peers = ['express', '@types/express', 'fastify', 'hono', 'typescript', '@types/node'].map((name) => `${name}@${own.devDependencies[name]}`);
    // Scripts off: better-sqlite3 (optional) would fetch a prebuilt binary; the command and the types do not need it.
    await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--ignore-scripts', tarball, ...peers]);
  });
  after(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

  test('npx tessera --help prints the commands', async () => {
    const { stdout } = await run('npx', ['--no-install', 'tessera', '--help']);
    assert.match(stdout, /^Usage: tessera <command>/);
    for (const command of ['serve', 'dev', 'check-config', 'keys']) assert.match(stdout, new RegExp(`^  ${command} `, 'm'));
  });

  test('tsc --noEmit accepts a file importing every subpath export (NodeNext, strict)', async () => {
    const subpaths = Object.keys(own.exports).filter((s) => s !== './package.json');
    assert.ok(subpaths.length >= 6);
    const lines = subpaths.map((s, i) => `import * as m${i} from '${s === '.' ? 'tessera' : `tessera/${s.slice(2)}`}';`);
    lines.push(`export const all = [${subpaths.map((_, i) => `m${i}`).join(', ')}];`);
    lines.push("import { createTessera } from 'tessera';", "import { tesseraExpress } from 'tessera/express';");
    lines.push("export const use = (t: ReturnType<typeof createTessera>) => tesseraExpress(t);");
    writeFileSync(join(dir, 'index.ts'), lines.join('\n'));
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', strict: true, noEmit: true, skipLibCheck: true, types: ['node'] },
      files: ['index.ts'],
    }));
    await run('npx', ['--no-install', 'tsc', '-p', '.']).catch((err: { stdout?: string }) => assert.fail(`tsc failed:\n${err.stdout}`));
    // And it can fail: a name the package does not export is an error.
    writeFileSync(join(dir, 'index.ts'), "import { notExported } from 'tessera';\nexport const x = notExported;\n");
    await assert.rejects(run('npx', ['--no-install', 'tsc', '-p', '.']), (err: { stdout?: string }) => /notExported/.test(err.stdout ?? ''));
  });
});
