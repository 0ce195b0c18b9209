#!/usr/bin/env node
// `npm run bench`: Tessera against a bare Node proxy and the peers a Tessera user would pick
// instead, in one run, on one upstream, with one load generator, targets alternating.
//
//   npm run bench                      gateway and middleware modes (about 4 minutes)
//   npm run bench -- --json out.json   the same, also written as JSON
//   npm run bench -- --scale           1,000,000 sessions in Redis and SQLite: lookup latency, bytes/session
//
// Options: --duration s (8), --warmup s (2), --rounds n (2), --connections n (32), --only id,id,
// --tool wrk|autocannon, --pin (servers on CPU 0, load generator on the others), --scale-sessions n
// (1000000), --cpu-prof DIR (CPU
// profiles of the Tessera servers), --docs (write docs/performance.md's results and the chart
// docs/performance.svg from this run), --logins n (concurrent sign-ins per target after the load,
// 200; 0 skips). See docs/performance.md.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem, release } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const benchDir = dirname(fileURLToPath(import.meta.url));
const root = dirname(benchDir);

const { values: args } = parseArgs({
  options: {
    json: { type: 'string' },
    duration: { type: 'string', default: '8' },
    warmup: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '2' },
    connections: { type: 'string', default: '32' },
    only: { type: 'string' },
    tool: { type: 'string' },
    scale: { type: 'boolean', default: false },
    'scale-sessions': { type: 'string', default: '1000000' },
    'cpu-prof': { type: 'string' },
    pin: { type: 'boolean', default: false },
    docs: { type: 'boolean', default: false },
    logins: { type: 'string', default: '200' },
  },
});

// ── Set-up: the peers' packages (bench/package.json, never Tessera's) and a fresh dist/ ─────────
function ensureBenchDependencies() {
  if (existsSync(join(benchDir, 'node_modules'))) return;
  console.log('Installing the peers (npm ci --prefix bench) …');
  const result = spawnSync('npm', ['ci', '--prefix', benchDir, '--no-audit', '--no-fund'], { stdio: 'inherit' });
  if (result.status !== 0) throw new Error('npm ci --prefix bench failed');
}

function newestMtime(dir) {
  let newest = 0;
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const stat = statSync(path);
    newest = Math.max(newest, stat.isDirectory() ? newestMtime(path) : stat.mtimeMs);
  }
  return newest;
}

function ensureBuild() {
  const built = join(root, 'dist', 'index.js');
  if (existsSync(built) && statSync(built).mtimeMs >= newestMtime(join(root, 'src'))) return;
  console.log('Building Tessera (npm run build) …');
  const result = spawnSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) throw new Error('npm run build failed');
}

ensureBenchDependencies();
ensureBuild();

const { startNode, startCommand, stopAll, portInUse, waitForPort, pinned } = await import('./lib/processes.mjs');
const { cpuSeconds, pidsNamed, hasProc, machineBusySeconds, finishedChildrenSeconds } = await import('./lib/cpu.mjs');
const { load, hasWrk } = await import('./lib/load.mjs');
const { Browser } = await import('./lib/login.mjs');
const { request } = await import('undici');
const { Redis } = await import('ioredis');

function machine() {
  const cpu = cpus();
  return {
    cpus: cpu.length,
    cpuModel: cpu[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    os: `${process.platform} ${release()}`,
    node: process.version,
    redis: undefined,
  };
}

const fmt = (n, digits = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : '—');
const median = (xs) => {
  const s = [...xs].filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};

function table(rows, columns) {
  const widths = columns.map((c) => Math.max(c.title.length, ...rows.map((r) => String(c.value(r)).length)));
  const line = (cells) => cells.map((cell, i) => (columns[i].left ? String(cell).padEnd(widths[i]) : String(cell).padStart(widths[i]))).join('  ');
  return [line(columns.map((c) => c.title)), line(widths.map((w) => '─'.repeat(w))), ...rows.map((r) => line(columns.map((c) => c.value(r))))].join('\n');
}

const redisUrl = 'redis://127.0.0.1:6379';
const runId = randomBytes(4).toString('hex');
const tessPrefix = `tessera-bench-${runId}:`;
const esPrefix = `tessera-bench-${runId}-es:`;
const apacheRedisDb = 7;
const tmp = mkdtempSync(join(tmpdir(), 'tessera-bench-'));
let apache;

async function cleanup() {
  if (apache) {
    try { execFileSync('apache2', ['-f', apache.conf, '-k', 'stop'], { stdio: 'ignore', env: apache.env }); } catch { /* already gone */ }
    const pid = (() => { try { return Number(readFileSync(join(apache.dir, 'httpd.pid'), 'utf8')); } catch { return 0; } })();
    for (let i = 0; i < 50 && pid && alive(pid); i++) await new Promise((r) => setTimeout(r, 100));
  }
  await stopAll();
  try {
    const admin = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await admin.connect();
    await deleteKeys(admin, `${tessPrefix}*`);
    await deleteKeys(admin, `${esPrefix}*`);
    if (apache) {
      await admin.select(apacheRedisDb);
      // mod_auth_openidc's cache keys are `<section>:<key>` (session, nonce, provider metadata, jwks …).
      await deleteKeys(admin, '?:*');
    }
    await admin.quit();
  } catch (err) {
    console.error(`note: could not clean Redis keys: ${err.message}`);
  }
  rmSync(tmp, { recursive: true, force: true });
}

function alive(pid) {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

async function deleteKeys(client, pattern) {
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) deleted += await client.unlink(...keys);
  } while (cursor !== '0');
  return deleted;
}

let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    console.error(`\n${signal}: stopping everything …`);
    cleanup().finally(() => process.exit(130));
  });
}

try {
  if (args.scale) {
    const { runScale } = await import('./lib/scale.mjs');
    for (const port of [9000, 4000, 4610]) if (await portInUse(port)) throw new Error(`port ${port} is in use — stop what listens there and run again`);
    const report = await runScale({ sessions: Number(args['scale-sessions']), redisUrl, prefix: tessPrefix, dir: tmp, root, benchDir });
    const out = { kind: 'tessera-bench-scale', date: new Date().toISOString(), machine: machine(), ...report };
    if (args.json) writeFileSync(args.json, `${JSON.stringify(out, null, 2)}\n`);
  } else {
    await runLoad();
  }
} catch (err) {
  console.error(err instanceof Error ? err.stack : err);
  process.exitCode = 1;
} finally {
  await cleanup();
}

// ── The load run ─────────────────────────────────────────────────────────────────────────────────
async function runLoad() {
  const seconds = Number(args.duration);
  const warmup = Number(args.warmup);
  const rounds = Number(args.rounds);
  const connections = Number(args.connections);
  const tool = args.tool ?? (hasWrk() ? 'wrk' : 'autocannon');
  const apacheInstalled = existsSync('/usr/lib/apache2/modules/mod_auth_openidc.so') && hasCommand('apache2');

  const ports = { upstream: 9000, bareproxy: 4500, relayproxy: 4510, op: 3999, eoc: 4100, apache: 4200, es: 4300, idp: 4000, tsqlite: 4600, tredis: 4610, tredis2: 4615, nginx: 4620, haproxy: 4630, barenode: 4400, tnode: 4401, bareexpress: 4402, texpress: 4403 };
  const cpuCount = cpus().length;
  const pin = args.pin && cpuCount >= 2 && hasCommand('taskset');
  if (args.pin && !pin) console.log('note: --pin needs taskset and at least 2 CPUs; running unpinned');
  const serverCpus = pin ? '0' : undefined;
  const loadCpus = pin ? `1-${cpuCount - 1}` : undefined;
  const busy = [];
  for (const [name, port] of Object.entries(ports)) if (await portInUse(port)) busy.push(`${name} ${port}`);
  if (busy.length > 0) throw new Error(`ports already in use: ${busy.join(', ')} — stop what listens there and run again`);
  const redisCheck = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 2000 });
  await redisCheck.connect().catch(() => { throw new Error(`Redis is not reachable at ${redisUrl}`); });
  const redisVersion = /redis_version:(\S+)/.exec(await redisCheck.info('server'))?.[1];
  await redisCheck.quit();

  console.log(`Starting servers (load generator: ${tool}, ${connections} connections, ${rounds} × ${seconds} s per target) …`);
  const profiled = new Set(['tessera.mjs', 'middleware.mjs', 'relayproxy.mjs']);
  const server = (name, file, env = {}) => startNode(name, join(benchDir, 'servers', file), {
    env,
    cwd: tmp,
    cpus: serverCpus,
    nodeArgs: args['cpu-prof'] && profiled.has(file) ? ['--cpu-prof', `--cpu-prof-dir=${args['cpu-prof']}`, `--cpu-prof-name=${file.replace('.mjs', '')}-${env.TESSERA_PORT ?? env.PORT}.cpuprofile`] : [],
  });
  const pids = {};
  const workerPids = {};
  const helperPids = [];
  await Promise.all([
    server('upstream', 'upstream.mjs', { PORT: ports.upstream }).then((p) => (pids.upstream = p.pid)),
    server('bare proxy', 'bareproxy.mjs', { PORT: ports.bareproxy }).then((p) => (pids.bareproxy = p.pid)),
    server('Tessera relay alone', 'relayproxy.mjs', { PORT: ports.relayproxy }).then((p) => (pids.relayproxy = p.pid)),
    server('oidc-provider OP', 'op.mjs').then((p) => helperPids.push(p.pid)),
  ]);
  const anchorNotes = await startAnchors({ ports, pids, cpus: serverCpus });
  const idp = await server('dev IdP', 'dev-idp.mjs', { PORT: ports.idp, DATA_DIR: join(tmp, 'idp') });
  helperPids.push(idp.pid);
  const { generateKeyEntry } = await import('../dist/index.js');
  const tesseraEnv = (port, store) => ({
    BENCH_REDIS_PREFIX: tessPrefix,
    TESSERA_PUBLIC_URL: `http://127.0.0.1:${port}`,
    TESSERA_PORT: String(port),
    TESSERA_HOST: '127.0.0.1',
    TESSERA_ISSUER: idp.issuer,
    TESSERA_DISCOVERY_URL: idp.discoveryUrl,
    TESSERA_CLIENT_ID: 'tessera-dev',
    TESSERA_CLIENT_SECRET: 'tessera-dev-secret',
    TESSERA_KEYS: generateKeyEntry(),
    TESSERA_UPSTREAM: `http://127.0.0.1:${ports.upstream}`,
    TESSERA_STORE: store,
    TESSERA_DATA_DIR: join(tmp, `tessera-${port}`),
    // Every browser of the login run comes from 127.0.0.1: one client, far past the default cap of
    // 64 requests in flight per client that protects the gateway from a slow reader.
    TESSERA_MAX_REQUESTS_PER_CLIENT: '1024',
  });
  await Promise.all([
    server('eoc', 'eoc.mjs').then((p) => (pids.eoc = p.pid)),
    server('express-session', 'es.mjs', { REDIS_PREFIX: esPrefix }).then((p) => (pids.es = p.pid)),
    server('tessera serve (SQLite)', 'tessera.mjs', tesseraEnv(ports.tsqlite, `sqlite:${join(tmp, 'sessions.db')}`)).then((p) => (pids.tsqlite = p.pid)),
    server('tessera serve (Redis)', 'tessera.mjs', tesseraEnv(ports.tredis, redisUrl)).then((p) => (pids.tredis = p.pid)),
    // The same on every core this machine has: node:cluster, two workers on two cores.
    server('tessera serve (Redis, 2 workers)', 'tessera-workers.mjs', { ...tesseraEnv(ports.tredis2, redisUrl), TESSERA_WORKERS: '2' }).then((p) => { pids.tredis2 = p.pid; workerPids.tredis2 = p.pids; }),
    // One process, four ports: bare node:http, node:http + authenticate(), bare Express, Express + tesseraExpress.
    server('middleware mode', 'middleware.mjs', { ...tesseraEnv(ports.tnode, redisUrl), PORT: String(ports.barenode) }).then((p) => {
      for (const id of ['barenode', 'tnode', 'bareexpress', 'texpress']) pids[id] = p.pid;
    }),
  ]);
  let apacheNote;
  if (apacheInstalled) {
    const dir = join(tmp, 'apache');
    spawnSync('mkdir', ['-p', dir]);
    const conf = join(dir, 'httpd.conf');
    writeFileSync(conf, readFileSync(join(benchDir, 'apache', 'httpd.conf.template'), 'utf8').replaceAll('@DIR@', dir).replaceAll('@REDIS_DB@', String(apacheRedisDb)));
    const env = { ...process.env, APACHE_RUN_DIR: dir, APACHE_LOCK_DIR: dir, APACHE_LOG_DIR: dir };
    const [command, commandArgs] = pinned(serverCpus, 'apache2', ['-f', conf, '-k', 'start']);
    execFileSync(command, commandArgs, { env, stdio: 'inherit' });
    apache = { dir, conf, env };
    await waitForPort(ports.apache);
  } else {
    apacheNote = 'Apache + mod_auth_openidc skipped: not installed (Debian: apt-get install apache2 libapache2-mod-auth-openidc).';
    console.log(`note: ${apacheNote}`);
  }

  // ── Sign in to each, as a browser would ───────────────────────────────────────────────────────
  console.log('Signing in to each target …');
  const base = (port) => `http://127.0.0.1:${port}`;
  const signIn = async (port, start, cookieName, user) => {
    const browser = new Browser();
    const page = await browser.signIn(`${base(port)}${start}`, { user });
    if (page.status !== 200) throw new Error(`sign-in at ${base(port)} ended with ${page.status}: ${page.text.slice(0, 200)}`);
    return cookieName ? `${cookieName}=${browser.cookie(base(port), cookieName)}` : browser.cookieHeader(base(port));
  };
  const cookies = {};
  await Promise.all([
    signIn(ports.tsqlite, '/', 'tessera', 'alice').then((c) => (cookies.tsqlite = c)),
    signIn(ports.tredis, '/', 'tessera', 'alice').then((c) => (cookies.tredis = c)),
    signIn(ports.tredis2, '/', 'tessera', 'alice').then((c) => (cookies.tredis2 = c)),
    signIn(ports.tnode, '/auth/login?returnTo=/', 'tessera', 'alice').then((c) => (cookies.tnode = c)),
    signIn(ports.texpress, '/', 'tessera', 'alice').then((c) => (cookies.texpress = c)),
    signIn(ports.eoc, '/', undefined, 'alice').then((c) => (cookies.eoc = c)),
    signIn(ports.es, '/seed', undefined).then((c) => (cookies.es = c)),
    apache ? signIn(ports.apache, '/', undefined, 'alice').then((c) => (cookies.apache = c)) : undefined,
  ]);

  const all = [
    { id: 'upstream', group: 'reference', name: 'upstream alone (no proxy)', port: ports.upstream, body: 'ok' },
    { id: 'bareproxy', group: 'gateway', name: 'bare Node proxy (node:http + undici Pool)', port: ports.bareproxy, body: 'ok', baseline: true },
    pids.nginx && { id: 'nginx', group: 'gateway', name: 'nginx (plain reverse proxy, 1 worker)', port: ports.nginx, body: 'ok', anchor: true },
    pids.haproxy && { id: 'haproxy', group: 'gateway', name: 'HAProxy (plain reverse proxy, 1 thread)', port: ports.haproxy, body: 'ok' },
    { id: 'relayproxy', group: 'gateway', name: "Tessera's proxy alone (no session check)", port: ports.relayproxy, body: 'ok' },
    { id: 'tsqlite', group: 'gateway', name: 'Tessera gateway, SQLite', port: ports.tsqlite, body: 'ok', tessera: true },
    { id: 'tredis', group: 'gateway', name: 'Tessera gateway, Redis', port: ports.tredis, body: 'ok', tessera: true },
    { id: 'tredis2', group: 'gateway', name: 'Tessera gateway, Redis, 2 workers', port: ports.tredis2, body: 'ok', tessera: true },
    apache && { id: 'apache', group: 'gateway', name: 'Apache mod_auth_openidc + Redis (proxy)', port: ports.apache, body: 'ok' },
    { id: 'eoc', group: 'gateway', name: 'express-openid-connect (handler)', port: ports.eoc, body: 'ok ' },
    { id: 'es', group: 'gateway', name: 'express-session + connect-redis (handler)', port: ports.es, body: 'ok alice' },
    { id: 'barenode', group: 'node', name: 'bare node:http handler', port: ports.barenode, body: 'ok alice', baseline: true },
    { id: 'tnode', group: 'node', name: 'node:http handler + authenticate()', port: ports.tnode, body: 'ok alice', tessera: true },
    { id: 'bareexpress', group: 'express', name: 'bare Express 4 handler', port: ports.bareexpress, body: 'ok alice', baseline: true },
    { id: 'texpress', group: 'express', name: 'Express 4 + tesseraExpress', port: ports.texpress, body: 'ok alice', tessera: true },
  ].filter(Boolean);
  let targets = all;
  if (args.only) {
    // --only a,b: those targets and the baselines they are compared with.
    const wanted = new Set(args.only.split(','));
    const groups = new Set(all.filter((t) => wanted.has(t.id)).map((t) => (t.group === 'reference' ? 'gateway' : t.group)));
    targets = all.filter((t) => wanted.has(t.id) || ((t.baseline || t.anchor) && groups.has(t.group)));
  }

  const check = async (t) => {
    const headers = cookies[t.id] ? { cookie: cookies[t.id], accept: 'text/html' } : { accept: 'text/html' };
    const res = await request(`${base(t.port)}/`, { headers });
    const text = await res.body.text();
    if (res.statusCode !== 200 || !text.startsWith(t.body)) throw new Error(`${t.name}: expected 200 "${t.body}…", got ${res.statusCode} ${text.slice(0, 120)}`);
  };
  for (const t of targets) await check(t);

  // ── Load, alternating: every target once per round, the order reversed every other round ───────
  // CPU time per request of the server-side processes (the target, and the upstream behind proxies).
  const proxies = new Set(['bareproxy', 'relayproxy', 'tsqlite', 'tredis', 'tredis2', 'apache', 'nginx', 'haproxy']);
  const serverPids = (t) => {
    if (t.id === 'apache') return () => [...pidsNamed('apache2'), pids.upstream];
    if (t.id === 'nginx') return () => [...pidsNamed('nginx'), pids.upstream];
    if (workerPids[t.id]) return [...workerPids[t.id], pids.upstream];
    const own = pids[t.id] ? [pids[t.id]] : [];
    return proxies.has(t.id) ? [...own, pids.upstream] : own;
  };
  // Everything this run causes (its servers, Apache, Redis, itself), to tell other load on the machine apart.
  const allOurPids = () => [process.pid, ...new Set(Object.values(pids)), ...Object.values(workerPids).flat(), ...pidsNamed('apache2'), ...pidsNamed('nginx'), ...pidsNamed('redis-server'), ...helperPids];
  const samples = new Map(targets.map((t) => [t.id, []]));
  let othersBusy = 0;
  let measured = 0;
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? targets : [...targets].reverse();
    for (const t of order) {
      const url = `${base(t.port)}/`;
      if (warmup > 0) await load({ url, cookie: cookies[t.id], seconds: warmup, connections, tool, cpus: loadCpus });
      const busy0 = hasProc ? machineBusySeconds() : 0;
      const ours0 = hasProc ? cpuSeconds(allOurPids) + finishedChildrenSeconds() : 0;
      const cpu0 = hasProc ? cpuSeconds(serverPids(t)) : 0;
      const r = await load({ url, cookie: cookies[t.id], seconds, connections, tool, cpus: loadCpus });
      if (hasProc) {
        r.cpuUsPerRequest = ((cpuSeconds(serverPids(t)) - cpu0) / r.requests) * 1e6;
        othersBusy += Math.max(0, machineBusySeconds() - busy0 - (cpuSeconds(allOurPids) + finishedChildrenSeconds() - ours0));
        measured += seconds;
      }
      samples.get(t.id).push(r);
      process.stdout.write(`  round ${round + 1}/${rounds}  ${t.name.padEnd(44)} ${fmt(r.rps).padStart(7)} req/s  p50 ${fmt(r.p50, 2)} ms  p99 ${fmt(r.p99, 2)} ms${r.cpuUsPerRequest ? `  ${fmt(r.cpuUsPerRequest, 1)} µs CPU/req` : ''}${r.errors ? `  (${r.errors} errors)` : ''}\n`);
    }
  }
  for (const t of targets) await check(t); // the session survived the load: the numbers were authenticated requests

  // ── Logins: many browsers at once through the whole flow, CPU of the relying party per login ─────
  const loginRuns = [];
  const loginCount = Number(args.logins);
  if (loginCount > 0) {
    const { concurrentLogins } = await import('./lib/logins.mjs');
    const loginTargets = [
      { id: 'tredis', name: 'Tessera gateway, Redis (dev IdP)', start: `${base(ports.tredis)}/`, pid: pids.tredis, expect: 'ok' },
      { id: 'tsqlite', name: 'Tessera gateway, SQLite (dev IdP)', start: `${base(ports.tsqlite)}/`, pid: pids.tsqlite, expect: 'ok' },
      { id: 'eoc', name: 'express-openid-connect (oidc-provider OP)', start: `${base(ports.eoc)}/`, pid: pids.eoc, expect: 'ok ' },
    ].filter((t) => !args.only || targets.some((x) => x.id === t.id));
    console.log(`\nLogins: ${loginCount} browsers at once per target …`);
    for (const t of loginTargets) {
      const result = { id: t.id, name: t.name, ...(await concurrentLogins({ startUrl: t.start, pid: t.pid, count: loginCount, expect: t.expect })) };
      loginRuns.push(result);
      console.log(`  ${t.name.padEnd(44)} ${fmt(result.loginsPerSecond, 1).padStart(6)} logins/s  ${fmt(result.cpuMsPerLogin, 2)} ms CPU/login  ${result.errors} errors${result.firstError ? ` (first: ${result.firstError})` : ''}`);
    }
  }

  const results = targets.map((t) => {
    const s = samples.get(t.id);
    return { id: t.id, group: t.group, name: t.name, rps: median(s.map((x) => x.rps)), p50: median(s.map((x) => x.p50)), p99: median(s.map((x) => x.p99)), cpuUsPerRequest: median(s.map((x) => x.cpuUsPerRequest)), errors: s.reduce((a, x) => a + x.errors, 0), rounds: s };
  });
  const byId = Object.fromEntries(results.map((r) => [r.id, r]));
  const baselineOf = { reference: 'bareproxy', gateway: 'bareproxy', node: 'barenode', express: 'bareexpress' };
  for (const r of results) {
    const b = byId[baselineOf[r.group]];
    r.ratio = b ? r.rps / b.rps : Number.NaN;
    r.addedP99 = b && targets.find((t) => t.id === r.id)?.tessera ? r.p99 - b.p99 : undefined;
    r.vsNginx = byId.nginx && r.group === 'gateway' ? r.rps / byId.nginx.rps : undefined;
  }

  const sections = [
    ['Gateway mode (ratio to the bare Node proxy)', ['gateway', 'reference']],
    ['node:http middleware mode (ratio to the bare handler)', ['node']],
    ['Express middleware mode (ratio to bare Express)', ['express']],
  ];
  const columns = [
    { title: 'target', value: (r) => r.name, left: true },
    { title: 'req/s', value: (r) => fmt(r.rps) },
    { title: 'p50 ms', value: (r) => fmt(r.p50, 2) },
    { title: 'p99 ms', value: (r) => fmt(r.p99, 2) },
    { title: 'ratio', value: (r) => fmt(r.ratio, 2) },
    { title: 'vs nginx', value: (r) => (r.vsNginx === undefined ? '' : fmt(r.vsNginx, 2)) },
    { title: 'p99 added', value: (r) => (r.addedP99 === undefined ? '' : `${r.addedP99 >= 0 ? '+' : ''}${fmt(r.addedP99, 2)}`) },
    { title: 'CPU µs/req', value: (r) => fmt(r.cpuUsPerRequest, 1) },
  ];
  const m = { ...machine(), redis: redisVersion };
  console.log(`\nTessera bench — ${m.cpus} × ${m.cpuModel}, ${m.memoryGiB} GiB, ${m.os}, Node ${m.node}, Redis ${m.redis}`);
  console.log(`${tool}, ${connections} connections, ${rounds} rounds × ${seconds} s per target (after ${warmup} s warm-up), medians over rounds${pin ? `; servers on CPU ${serverCpus}, load generator on CPU ${loadCpus}` : ''}`);
  console.log('CPU µs/req: CPU time of the server processes per request (for proxies: proxy + upstream; Apache: all its processes)\n');
  for (const [title, groups] of sections) {
    const rows = results.filter((r) => groups.includes(r.group));
    if (rows.length === 0) continue;
    console.log(`${title}\n${table(rows, columns)}\n`);
  }
  if (apacheNote) console.log(`note: ${apacheNote}\n`);
  for (const note of anchorNotes) console.log(`note: ${note}\n`);

  const goals = [];
  const goal = (text, ok, measured) => goals.push({ goal: text, met: ok, measured });
  const r = (id) => byId[id];
  // Issue 15: against the C ceiling (nginx as a plain reverse proxy), one worker each.
  if (r('nginx')) {
    for (const id of ['tredis', 'tsqlite']) if (r(id)) goal(`${r(id).name} ≥ 0.75× nginx`, r(id).vsNginx >= 0.75, fmt(r(id).vsNginx, 2));
    if (r('relayproxy')) goal("Tessera's relay with no session check ≥ 0.90× nginx", r('relayproxy').vsNginx >= 0.9, fmt(r('relayproxy').vsNginx, 2));
  }
  if (r('tnode')) goal('node:http + authenticate() ≥ 0.90 of the bare handler', r('tnode').ratio >= 0.9, fmt(r('tnode').ratio, 2));
  // Issue 6, kept as regressions guards.
  if (r('tredis')) goal('gateway with Redis ≥ 0.80 of the bare proxy', r('tredis').ratio >= 0.8, fmt(r('tredis').ratio, 2));
  if (r('tsqlite')) goal('gateway with SQLite ≥ 0.85 of the bare proxy', r('tsqlite').ratio >= 0.85, fmt(r('tsqlite').ratio, 2));
  const gatewayTessera = ['tredis', 'tsqlite'].map(r).filter(Boolean);
  const slowest = gatewayTessera.length ? Math.min(...gatewayTessera.map((x) => x.rps)) : Number.NaN;
  if (r('apache') && gatewayTessera.length) goal('≥ 4× mod_auth_openidc', slowest / r('apache').rps >= 4, `${fmt(slowest / r('apache').rps, 1)}×`);
  if (r('eoc') && gatewayTessera.length) goal('≥ 5× express-openid-connect', slowest / r('eoc').rps >= 5, `${fmt(slowest / r('eoc').rps, 1)}×`);
  for (const id of ['tsqlite', 'tredis', 'tnode', 'texpress']) {
    if (r(id)) goal(`p99 added ≤ 1 ms at ${connections} connections: ${r(id).name}`, r(id).addedP99 <= 1, `${fmt(r(id).addedP99, 2)} ms`);
  }
  for (const l of loginRuns) goal(`${loginCount} concurrent sign-ins with zero errors: ${l.name}`, l.errors === 0, `${l.errors} errors`);
  console.log('Goals')
  for (const g of goals) console.log(`  ${g.met ? 'met   ' : 'MISSED'}  ${g.goal}: ${g.measured}`);
  const othersShare = measured > 0 ? othersBusy / measured : 0;
  if (othersShare > 0.1) console.log(`\nwarning: other processes used ${fmt(othersShare * 100)}% of a CPU on average while we measured; numbers from this run are noisy`);
  const errors = results.filter((x) => x.errors > 0);
  if (errors.length) console.log(`\nwarning: errors during load: ${errors.map((x) => `${x.name} ${x.errors}`).join(', ')}`);

  const settings = { tool, connections, rounds, seconds, warmup, pinned: pin ? { servers: serverCpus, load: loadCpus } : false };
  const notes = [apacheNote, ...anchorNotes].filter(Boolean);
  if (args.json) {
    const out = { kind: 'tessera-bench', date: new Date().toISOString(), machine: m, settings, results, logins: loginRuns, goals, otherLoadCpuShare: othersShare, notes };
    writeFileSync(args.json, `${JSON.stringify(out, null, 2)}\n`);
    console.log(`\nwrote ${args.json}`);
  }
  if (args.docs) {
    const { writeResults } = await import('./lib/report.mjs');
    const written = writeResults({ docsDir: join(root, 'docs'), machine: m, settings, sections, results, logins: loginRuns, goals, notes, columns });
    console.log(`\nwrote ${written.join(', ')}`);
  }
}

/** nginx and HAProxy as plain reverse proxies in front of the same upstream (when installed). */
async function startAnchors({ ports, pids, cpus }) {
  const notes = [];
  const fill = (template, dir, port) => readFileSync(join(benchDir, 'anchors', template), 'utf8')
    .replaceAll('@DIR@', dir).replaceAll('@PORT@', String(port)).replaceAll('@UPSTREAM_PORT@', String(ports.upstream));
  const nginx = findCommand('nginx');
  if (nginx) {
    const dir = join(tmp, 'nginx');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'nginx.conf'), fill('nginx.conf.template', dir, ports.nginx));
    pids.nginx = (await startCommand('nginx', nginx, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', 'stderr'], { port: ports.nginx, cpus })).pid;
  } else notes.push('nginx skipped: not installed (Debian: apt-get install nginx).');
  const haproxy = findCommand('haproxy');
  if (haproxy) {
    const dir = join(tmp, 'haproxy');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'haproxy.cfg'), fill('haproxy.cfg.template', dir, ports.haproxy));
    pids.haproxy = (await startCommand('HAProxy', haproxy, ['-db', '-f', join(dir, 'haproxy.cfg')], { port: ports.haproxy, cpus })).pid;
  } else notes.push('HAProxy skipped: not installed (Debian: apt-get install haproxy).');
  for (const note of notes) console.log(`note: ${note}`);
  return notes;
}

/** The path of `name` on PATH or in the sbin folders (Debian installs nginx and HAProxy there). */
function findCommand(name) {
  if (hasCommand(name)) return name;
  return ['/usr/sbin', '/usr/local/sbin', '/sbin'].map((dir) => join(dir, name)).find((path) => existsSync(path));
}

function hasCommand(name) {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}
