// The load generator: wrk when installed (a C program, so the client costs little CPU on a
// 2-core machine), autocannon otherwise. Both give requests/s and latency percentiles.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { run } from './processes.mjs';

export function hasWrk() {
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' });
    return true;
  } catch (err) {
    // wrk --version exits 1 after printing its version.
    return err.status === 1;
  }
}

const toMs = (text) => {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(text.trim());
  if (!m) return Number.NaN;
  const n = Number(m[1]);
  return m[2] === 'us' ? n / 1000 : m[2] === 'ms' ? n : m[2] === 's' ? n * 1000 : n * 60_000;
};

export function parseWrk(text) {
  const rps = Number(/Requests\/sec:\s*([\d.]+)/.exec(text)?.[1]);
  const p50 = toMs(/^\s*50%\s+(\S+)/m.exec(text)?.[1] ?? '');
  const p99 = toMs(/^\s*99%\s+(\S+)/m.exec(text)?.[1] ?? '');
  const requests = Number(/(\d+) requests in/.exec(text)?.[1]);
  const errors = Number(/Non-2xx or 3xx responses:\s*(\d+)/.exec(text)?.[1] ?? 0)
    + [...text.matchAll(/Socket errors:.*?connect (\d+), read (\d+), write (\d+), timeout (\d+)/g)].reduce((s, m) => s + Number(m[1]) + Number(m[2]) + Number(m[3]) + Number(m[4]), 0);
  return { rps, p50, p99, requests, errors };
}

/** Drives `url` with `connections` keep-alive connections for `seconds`, sending `cookie`. */
export async function load({ url, cookie, seconds, connections, tool, cpus }) {
  if (tool === 'wrk') {
    const args = ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', '--timeout', '5s'];
    if (cookie) args.push('-H', `Cookie: ${cookie}`);
    args.push(url);
    return parseWrk(await run('wrk', args, { cpus }));
  }
  const require = createRequire(import.meta.url);
  const cli = require.resolve('autocannon/autocannon.js');
  const args = [cli, '-c', String(connections), '-d', String(seconds), '-j'];
  if (cookie) args.push('-H', `Cookie=${cookie}`);
  args.push(url);
  const result = JSON.parse(await run(process.execPath, args, { cpus }));
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    requests: result.requests.total,
    errors: result.errors + result.timeouts + result.non2xx,
  };
}
