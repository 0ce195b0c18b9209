// `tessera serve` with TESSERA_WORKERS (node:cluster), run as the CLI runs it (bin/tessera.js).
// Tells the runner the pids of the primary and every worker, so their CPU time is counted.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ready } from './ready.mjs';

const bin = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'tessera.js');
const store = `${process.env.TESSERA_STORE}?prefix=${process.env.BENCH_REDIS_PREFIX ?? 'tessera-bench:'}`;
const child = spawn(process.execPath, [bin, 'serve'], { env: { ...process.env, TESSERA_STORE: store, TESSERA_LOG_LEVEL: 'info' }, stdio: ['ignore', 'inherit', 'pipe'] });
let out = '';
const onData = (d) => {
  out += d;
  const line = out.split('\n').find((l) => l.includes('gateway workers listening'));
  if (line === undefined) return;
  child.stderr.off('data', onData);
  child.stderr.pipe(process.stderr);
  ready({ port: Number(process.env.TESSERA_PORT), pids: [child.pid, ...JSON.parse(line).pids] });
};
child.stderr.on('data', onData); // Tessera logs JSON lines on stderr
child.on('exit', (code) => process.exit(code ?? 1));
const stop = () => child.kill('SIGTERM');
process.on('SIGTERM', stop);
process.stdin.on('end', stop);
