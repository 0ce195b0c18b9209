// `npm run bench -- --scale`: how session lookups and memory behave with many sessions.
//
// One real login through the dev IdP gives a session record exactly as Tessera writes it (claims,
// IdP session id) and its sealed tokens, which every store keeps apart from the record. Both are
// then written N times straight into each store's own format in bulk (Redis pipelines; SQLite
// transactions of 100,000 rows), each copy under the key of its own session id, with its own user
// and IdP session. Measured at 10,000 and at N sessions: the latency of a store lookup (store.get,
// the per-request read) and of authenticate() for a session that is not in the in-process cache
// (hash, lookup, checks), one at a time over random sessions; and the memory (Redis: INFO memory,
// the per-request part — session keys and indexes — and the tokens apart) or file size (SQLite) per session.
import { createHash, hash } from 'node:crypto';
import { join } from 'node:path';
import { statSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

const fmt = (n, d = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }) : '—');
const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];

/** The session id of copy `i` (deterministic, so 1,000,000 ids need not be kept) and its store key. */
function sessionId(seed, i) {
  return createHash('sha256').update(`${seed}:${i}`).digest('base64url');
}
const storeKeyOf = (id) => hash('sha256', id, 'base64url');

/**
 * Lookups one at a time over random sessions, in `batches` batches; the p50 and p99 reported are
 * the medians of the batches' own, so a burst of other work on the machine moves one batch, not the result.
 */
async function measureLookups({ count, samples, seed, store, tessera, batches = 5 }) {
  const pick = () => Math.floor(Math.random() * count);
  // Warm-up: JIT, connections, and the store's own caches for a fair first sample.
  for (let i = 0; i < 2000; i++) await store.get(storeKeyOf(sessionId(seed, pick())));
  const perBatch = Math.ceil(samples / batches);
  const get = [];
  const auth = [];
  let missing = 0;
  for (let b = 0; b < batches; b++) {
    const getTimes = new Float64Array(perBatch);
    const authTimes = new Float64Array(perBatch);
    for (let n = 0; n < perBatch; n++) {
      const key = storeKeyOf(sessionId(seed, pick()));
      const t0 = process.hrtime.bigint();
      const record = await store.get(key);
      getTimes[n] = Number(process.hrtime.bigint() - t0) / 1e6;
      if (record === undefined) missing++;
    }
    for (let n = 0; n < perBatch; n++) {
      // A session picked at random is almost never in the cache (1 ms here): this is the miss path.
      const cookie = `tessera=${sessionId(seed, pick())}`;
      const t0 = process.hrtime.bigint();
      const result = await tessera.authenticate(cookie);
      authTimes[n] = Number(process.hrtime.bigint() - t0) / 1e6;
      if (!result.authenticated) missing++;
    }
    getTimes.sort();
    authTimes.sort();
    get.push({ p50: quantile(getTimes, 0.5), p99: quantile(getTimes, 0.99) });
    auth.push({ p50: quantile(authTimes, 0.5), p99: quantile(authTimes, 0.99) });
  }
  if (missing > 0) throw new Error(`${missing} lookups did not find their session`);
  const med = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  return {
    get: { p50: med(get.map((x) => x.p50)), p99: med(get.map((x) => x.p99)) },
    authenticate: { p50: med(auth.map((x) => x.p50)), p99: med(auth.map((x) => x.p99)) },
  };
}

/** A copy of the real record for session `i`: its own user (two sessions each) and IdP session. */
function recordFor(template, i, now) {
  const json = template.json.replace(template.subJson, `"u":${JSON.stringify(`user-${Math.floor(i / 2)}`)}`).replace(template.sidJson, `"d":${JSON.stringify(`sid-${i}`)}`);
  return {
    sub: `user-${Math.floor(i / 2)}`,
    sid: `sid-${i}`,
    json,
    // Last seen "after" the insert, so no touch write (one a minute per session) lands inside a timed
    // lookup: a million sessions take a minute or two to insert, and would otherwise all be due one.
    lastSeenAt: now + 10 * 60_000,
    idleExpiresAt: now + 30 * 60_000,
    absoluteExpiresAt: now + 12 * 3_600_000,
  };
}

async function redisPhase({ counts, template, seed, redisUrl, prefix, dist, Redis, samples }) {
  const admin = new Redis(redisUrl);
  const memory = async () => Number(/used_memory:(\d+)/.exec(await admin.info('memory'))[1]);
  const store = dist.redisStore({ url: redisUrl }, { prefix });
  const tessera = dist.createTessera(template.options, { store });
  const rows = [];
  const before = await memory();
  let inserted = 0;
  let tokensInserted = 0;
  let tokenBytes = 0;
  try {
    for (const count of counts) {
      const started = Date.now();
      const now = Date.now();
      const ttl = 30 * 60_000;
      const batch = 2000;
      const inFlight = [];
      for (; inserted < count; ) {
        const pipeline = admin.pipeline();
        const end = Math.min(count, inserted + batch);
        for (let i = inserted; i < end; i++) {
          const key = storeKeyOf(sessionId(seed, i));
          const r = recordFor(template, i, now);
          const expires = now + ttl;
          // Exactly what redisStore.set writes but the tokens (below): the session, the user and IdP-session indexes.
          pipeline.set(`${prefix}s:${key}`, `1|${r.idleExpiresAt}|${r.lastSeenAt}|${r.absoluteExpiresAt}|${r.json}`, 'PX', ttl);
          pipeline.hset(`${prefix}u:${r.sub}`, key, String(expires));
          pipeline.pexpire(`${prefix}u:${r.sub}`, ttl);
          pipeline.hset(`${prefix}d:${r.sid}`, key, String(expires));
          pipeline.pexpire(`${prefix}d:${r.sid}`, ttl);
        }
        inserted = end;
        inFlight.push(pipeline.exec());
        if (inFlight.length >= 4) await inFlight.shift();
      }
      await Promise.all(inFlight);
      await sleep(3000); // let Redis finish rehashing its key space before memory is read and lookups are timed
      // The per-request part (session keys and indexes) first, then the tokens keys beside them.
      const hotBytes = (await memory()) - before - tokenBytes;
      for (let from = tokensInserted; from < count; from += batch) {
        const pipeline = admin.pipeline();
        for (let i = from; i < Math.min(count, from + batch); i++) {
          const session = `${prefix}s:${storeKeyOf(sessionId(seed, i))}`;
          pipeline.set(`${prefix}t:{${session}}`, template.sealedTokens, 'PX', ttl);
        }
        inFlight.push(pipeline.exec());
        if (inFlight.length >= 4) await inFlight.shift();
      }
      await Promise.all(inFlight.splice(0));
      tokensInserted = count;
      const insertSeconds = (Date.now() - started - 3000) / 1000;
      await sleep(3000);
      const allBytes = (await memory()) - before;
      tokenBytes = allBytes - hotBytes;
      const bytesPerSession = allBytes / count;
      const hotBytesPerSession = hotBytes / count;
      const lookups = await measureLookups({ count, samples, seed, store, tessera });
      rows.push({ store: 'redis', sessions: count, insertSeconds, bytesPerSession, hotBytesPerSession, ...lookups });
      console.log(`  redis   ${fmt(count).padStart(9)} sessions  inserted in ${fmt(insertSeconds, 1)} s  ${fmt(bytesPerSession)} B/session, ${fmt(hotBytesPerSession)} of them read per request  get p50 ${fmt(lookups.get.p50, 3)} p99 ${fmt(lookups.get.p99, 3)} ms  authenticate (cache miss) p50 ${fmt(lookups.authenticate.p50, 3)} p99 ${fmt(lookups.authenticate.p99, 3)} ms`);
    }
    // Where the bytes go, from one session's keys.
    const key = storeKeyOf(sessionId(seed, 0));
    const usage = async (k) => Number(await admin.memory('USAGE', k));
    rows.breakdown = {
      sessionKey: await usage(`${prefix}s:${key}`),
      tokensKey: await usage(`${prefix}t:{${prefix}s:${key}}`),
      userIndexPerSession: (await usage(`${prefix}u:user-0`)) / 2,
      idpSessionIndex: await usage(`${prefix}d:sid-0`),
      sealedTokensChars: template.sealedTokensChars,
      valueChars: (await admin.strlen(`${prefix}s:${key}`)),
    };
  } finally {
    await tessera.close();
    console.log('  removing the Redis keys …');
    let cursor = '0';
    do {
      const [next, keys] = await admin.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 5000);
      cursor = next;
      if (keys.length > 0) await admin.unlink(...keys);
    } while (cursor !== '0');
    await admin.quit();
  }
  return rows;
}

async function sqlitePhase({ counts, template, seed, dir, dist, Database, samples }) {
  const path = join(dir, 'scale-sessions.db');
  // The store creates the schema; rows then go straight into its table from a connection of our
  // own (journal off for the bulk load only), and the store is reopened to measure.
  const schema = dist.sqliteStore({ path });
  await schema.ping();
  await schema.close();
  const rows = [];
  let inserted = 0;
  for (const count of counts) {
    const started = Date.now();
    const db = new Database(path);
    db.pragma('journal_mode = OFF');
    db.pragma('synchronous = OFF');
    const insert = db.prepare(`INSERT INTO tessera_sessions (key, sub, sid, last_seen_at, idle_expires_at, absolute_expires_at, expires_at, record)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?)`);
    const insertTokens = db.prepare('INSERT INTO tessera_session_tokens (key, sealed_tokens) VALUES (?, ?)');
    const insertMany = db.transaction((from, to, now) => {
      for (let i = from; i < to; i++) {
        const r = recordFor(template, i, now);
        const key = storeKeyOf(sessionId(seed, i));
        insert.run(key, r.sub, r.sid, r.lastSeenAt, r.idleExpiresAt, r.absoluteExpiresAt, r.idleExpiresAt, r.json);
        insertTokens.run(key, template.sealedTokens);
      }
    });
    const now = Date.now();
    while (inserted < count) {
      const end = Math.min(count, inserted + 100_000);
      insertMany(inserted, end, now);
      inserted = end;
    }
    db.pragma('journal_mode = WAL');
    db.close();
    const insertSeconds = (Date.now() - started) / 1000;
    const bytesPerSession = statSync(path).size / count;
    const store = dist.sqliteStore({ path });
    const tessera = dist.createTessera(template.options, { store });
    try {
      const lookups = await measureLookups({ count, samples, seed, store, tessera });
      rows.push({ store: 'sqlite', sessions: count, insertSeconds, bytesPerSession, ...lookups });
      console.log(`  sqlite  ${fmt(count).padStart(9)} sessions  inserted in ${fmt(insertSeconds, 1)} s  ${fmt(bytesPerSession)} B/session (file)  get p50 ${fmt(lookups.get.p50, 3)} p99 ${fmt(lookups.get.p99, 3)} ms  authenticate (cache miss) p50 ${fmt(lookups.authenticate.p50, 3)} p99 ${fmt(lookups.authenticate.p99, 3)} ms`);
    } finally {
      await tessera.close();
    }
  }
  return rows;
}

/** Signs in once through the dev IdP and a Redis-backed gateway; returns the stored record as a template. */
async function realRecord({ dir, redisUrl, prefix, startNode, stopAll, Browser, dist, Redis, benchDir }) {
  const server = (name, file, env) => startNode(name, join(benchDir, 'servers', file), { env, cwd: dir });
  await server('upstream', 'upstream.mjs', { PORT: 9000 });
  const idp = await server('dev IdP', 'dev-idp.mjs', { PORT: 4000, DATA_DIR: join(dir, 'idp') });
  const keys = dist.generateKeyEntry();
  const options = {
    publicUrl: 'http://127.0.0.1:4610',
    issuer: idp.issuer,
    discoveryUrl: idp.discoveryUrl,
    clientId: 'tessera-dev',
    clientSecret: 'tessera-dev-secret',
    keys,
    store: 'memory:',
    upstream: 'http://127.0.0.1:9000',
    dataDir: join(dir, 'tessera'),
  };
  await server('tessera serve (Redis)', 'tessera.mjs', {
    BENCH_REDIS_PREFIX: prefix,
    TESSERA_PUBLIC_URL: options.publicUrl,
    TESSERA_PORT: '4610',
    TESSERA_HOST: '127.0.0.1',
    TESSERA_ISSUER: idp.issuer,
    TESSERA_DISCOVERY_URL: idp.discoveryUrl,
    TESSERA_CLIENT_ID: options.clientId,
    TESSERA_CLIENT_SECRET: options.clientSecret,
    TESSERA_KEYS: keys,
    TESSERA_UPSTREAM: options.upstream,
    TESSERA_STORE: redisUrl,
    TESSERA_DATA_DIR: options.dataDir,
  });
  const page = await new Browser().signIn('http://127.0.0.1:4610/auth/login?returnTo=/');
  if (page.status !== 200) throw new Error(`sign-in for the template session ended with ${page.status}`);
  await stopAll();
  const admin = new Redis(redisUrl);
  const [, keysFound] = await admin.scan('0', 'MATCH', `${prefix}s:*`, 'COUNT', 1000);
  const value = await admin.get(keysFound[0]);
  const sealedTokens = await admin.get(`${prefix}t:{${keysFound[0]}}`);
  if (sealedTokens === null) throw new Error('the template session has no tokens key');
  let cursor = '0';
  do {
    const [next, batch] = await admin.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (batch.length > 0) await admin.unlink(...batch);
  } while (cursor !== '0');
  await admin.quit();
  const json = value.split('|').slice(4).join('|');
  const parsed = JSON.parse(json);
  return {
    json,
    subJson: `"u":${JSON.stringify(parsed.u)}`,
    sidJson: parsed.d === undefined ? '\u0000' : `"d":${JSON.stringify(parsed.d)}`,
    sealedTokens,
    sealedTokensChars: sealedTokens.length,
    // A 1 ms cache: every authenticate() below is the cache-miss path (hash, store read, checks).
    options: { ...options, store: 'memory:', sessionCacheTtl: 0.001 },
  };
}

export async function runScale({ sessions, redisUrl, prefix, dir, root, benchDir, samples = 50_000 }) {
  const dist = await import(join(root, 'dist', 'index.js'));
  const { Redis } = await import('ioredis');
  const { default: Database } = await import('better-sqlite3');
  const { startNode, stopAll } = await import('./processes.mjs');
  const { Browser } = await import('./login.mjs');
  const counts = [...new Set([Math.min(10_000, sessions), sessions])];
  const seed = `${prefix}${Date.now()}`;

  console.log('Signing in once through the dev IdP for a real session record …');
  const template = await realRecord({ dir, redisUrl, prefix, startNode, stopAll, Browser, dist, Redis, benchDir });
  console.log(`  record: ${template.json.length} characters of JSON; the sealed tokens, kept apart: ${template.sealedTokensChars} characters`);

  console.log(`Redis: ${counts.map((c) => fmt(c)).join(' then ')} sessions (key prefix ${prefix}) …`);
  const redisRows = await redisPhase({ counts, template, seed, redisUrl, prefix, dist, Redis, samples });
  console.log(`SQLite: ${counts.map((c) => fmt(c)).join(' then ')} sessions …`);
  const sqliteRows = await sqlitePhase({ counts, template, seed, dir, dist, Database, samples });

  const summary = [];
  for (const rows of [redisRows, sqliteRows]) {
    const small = rows[0];
    const large = rows[rows.length - 1];
    summary.push({
      store: small.store,
      smallSessions: small.sessions,
      largeSessions: large.sessions,
      getP99Ratio: large.get.p99 / small.get.p99,
      authenticateP99Ratio: large.authenticate.p99 / small.authenticate.p99,
      bytesPerSession: large.bytesPerSession,
      hotBytesPerSession: large.hotBytesPerSession,
    });
  }
  console.log(`\nScale (${fmt(samples)} lookups of each kind, one at a time over random sessions; medians of 5 batches' p50 and p99)`);
  console.log('store    sessions    get p50   get p99   authenticate p50   authenticate p99   bytes/session');
  for (const r of [...redisRows, ...sqliteRows]) {
    const bytes = r.store === 'sqlite' ? ' (file)' : ` (INFO memory; ${fmt(r.hotBytesPerSession)} without the tokens keys)`;
    console.log(`${r.store.padEnd(7)} ${fmt(r.sessions).padStart(9)}   ${fmt(r.get.p50, 3).padStart(7)}   ${fmt(r.get.p99, 3).padStart(7)}   ${fmt(r.authenticate.p50, 3).padStart(16)}   ${fmt(r.authenticate.p99, 3).padStart(16)}   ${fmt(r.bytesPerSession).padStart(13)}${bytes}`);
  }
  console.log('(times in ms)\n');
  const b = redisRows.breakdown;
  if (b) {
    console.log(`Redis bytes for one session: session key ${fmt(b.sessionKey)} (value ${fmt(b.valueChars)} characters; the only key get reads), tokens key ${fmt(b.tokensKey)} (${fmt(b.sealedTokensChars)} characters of sealed tokens), user index ${fmt(b.userIndexPerSession)} per session, IdP-session index ${fmt(b.idpSessionIndex)}`);
  }
  console.log('Goals (issues 6 and 15)');
  for (const s of summary) {
    console.log(`  ${s.authenticateP99Ratio <= 1.5 && s.getP99Ratio <= 1.5 ? 'met   ' : 'MISSED'}  ${s.store}: lookup p99 at ${fmt(s.largeSessions)} within 1.5× of ${fmt(s.smallSessions)}: get ${fmt(s.getP99Ratio, 2)}×, authenticate ${fmt(s.authenticateP99Ratio, 2)}×`);
  }
  const redisHot = summary[0].hotBytesPerSession;
  console.log(`  ${redisHot <= 1024 ? 'met   ' : 'MISSED'}  Redis bytes per session on the per-request read ≤ 1 KB (INFO memory, session keys and indexes): ${fmt(redisHot)} B; with the tokens keys ${fmt(summary[0].bytesPerSession)} B`);
  return { samples, template: { jsonChars: template.json.length, sealedTokensChars: template.sealedTokensChars }, redis: redisRows, redisBreakdown: b, sqlite: sqliteRows, summary };
}
