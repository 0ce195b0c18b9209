// npm run check:package: packs the package as npm would publish it, then checks the tarball with
// publint (package.json fields, files, exports) and @arethetypeswrong/cli (every subpath export
// resolves to JavaScript and types under Node's ESM resolution). Run after `npm run build`.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const run = (command, args) => {
  const result = spawnSync(command, args, { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
  if (result.status !== 0) {
    process.stdout.write(result.stdout ?? '');
    console.error(`check:package: ${command} ${args.join(' ')} failed`);
    process.exit(result.status ?? 1);
  }
  return result.stdout;
};

const dir = mkdtempSync(join(tmpdir(), 'tessera-pack-'));
try {
  const [packed] = JSON.parse(run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dir]));
  const tarball = join(dir, packed.filename);
  console.log(`packed ${packed.filename}: ${packed.entryCount} files, ${(packed.size / 1024).toFixed(0)} kB`);
  process.stdout.write(run('npx', ['--no-install', 'publint', 'run', tarball, '--strict']));
  // ESM only ("type": "module", import conditions): the CommonJS require() resolution does not apply.
  process.stdout.write(run('npx', ['--no-install', 'attw', tarball, '--profile', 'esm-only']));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
