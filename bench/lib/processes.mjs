// Child processes of a bench run: each server is its own process (as in production), started
// with a pipe on stdin so it exits when the runner does, and stopped by its own pid at the end.
import { spawn } from 'node:child_process';
import { createConnection } from 'node:net';

const children = new Set();

/** Starts `node script` and resolves with the JSON it prints once listening. */
export function startNode(name, script, { env = {}, cwd, nodeArgs = [], cpus, timeoutMs = 20_000 } = {}) {
  const [command, args] = pinned(cpus, process.execPath, [...nodeArgs, script]);
  const child = spawn(command, args, { cwd, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  children.add(child);
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
    if (stderr.length > 20_000) stderr = stderr.slice(-10_000);
  });
  child.on('exit', () => children.delete(child));
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => fail(new Error(`${name} did not start within ${timeoutMs} ms`)), timeoutMs);
    const fail = (err) => {
      clearTimeout(timer);
      reject(new Error(`${err.message}\n${stderr.trim().split('\n').slice(-15).join('\n')}`));
    };
    child.once('exit', (code) => fail(new Error(`${name} exited (code ${code}) before it was ready`)));
    const onData = (d) => {
      out += d;
      const lines = out.split('\n');
      out = lines.pop();
      for (const line of lines) {
        if (!line.startsWith('{')) continue;
        try {
          const info = JSON.parse(line);
          if (info.ready) {
            clearTimeout(timer);
            child.removeAllListeners('exit');
            child.on('exit', () => children.delete(child));
            // From here on its output is only passed through when asked for (BENCH_SERVER_OUTPUT=1).
            child.stdout.off('data', onData);
            if (process.env.BENCH_SERVER_OUTPUT) child.stdout.pipe(process.stderr);
            else child.stdout.resume();
            resolve({ ...info, pid: child.pid, stderr: () => stderr });
            return;
          }
        } catch { /* not our line */ }
      }
    };
    child.stdout.on('data', onData);
  });
}

/** `command args` confined to the CPU list `cpus` (e.g. "0") with taskset, when one is given. */
export function pinned(cpus, command, args) {
  return cpus === undefined ? [command, args] : ['taskset', ['-c', cpus, command, ...args]];
}

/**
 * Starts a foreground server that is not Node (nginx, HAProxy), tracks it, and resolves with its
 * pid once `port` accepts connections.
 */
export async function startCommand(name, command, args, { port, cpus, cwd } = {}) {
  const [cmd, cmdArgs] = pinned(cpus, command, args);
  const child = spawn(cmd, cmdArgs, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  children.add(child);
  let stderr = '';
  child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-5000)));
  let exited;
  child.on('exit', (code) => { children.delete(child); exited = code ?? 'signal'; });
  const until = Date.now() + 15_000;
  while (Date.now() < until) {
    if (exited !== undefined) throw new Error(`${name} exited (${exited}) before it was ready: ${stderr.trim()}`);
    if (await portInUse(port)) return { pid: child.pid };
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${name} did not listen on ${port} within 15 s: ${stderr.trim()}`);
}

/** Starts any command and tracks it, for the load generator. */
export function run(command, args, { env, cpus } = {}) {
  [command, args] = pinned(cpus, command, args);
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: env ? { ...process.env, ...env } : process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('exit', (code) => {
      children.delete(child);
      if (code === 0) resolve(stdout);
      else reject(new Error(`${command} ${args.join(' ')} exited with ${code}: ${stderr.trim()}`));
    });
  });
}

/** Stops every child this run started: SIGTERM by pid, then SIGKILL after a grace period. */
export async function stopAll(graceMs = 3000) {
  const waiting = [...children].map((child) => new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => { try { child.kill('SIGKILL'); } catch { /* gone */ } resolve(); }, graceMs);
    child.once('exit', () => { clearTimeout(timer); resolve(); });
    try { child.kill('SIGTERM'); } catch { resolve(); }
  }));
  await Promise.all(waiting);
}

/** Whether something already listens on 127.0.0.1:port. */
export function portInUse(port) {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
  });
}

export async function waitForPort(port, timeoutMs = 15_000) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await portInUse(port)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing listens on port ${port} after ${timeoutMs} ms`);
}
