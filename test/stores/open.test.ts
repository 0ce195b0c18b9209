import { strict as assert } from 'node:assert';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isTesseraError } from '../../src/errors.js';
import { describeStore, migrateStore, openStore, parseStoreSpec } from '../../src/stores/open.js';
import { Redis } from 'ioredis';
import { freePort, skipOrFail, useRedis } from '../helpers/redis-server.js';
import { hot, randomKey, sampleRecord } from './conformance.js';

describe('TESSERA_STORE parsing', () => {
  const cases: Array<[string, unknown]> = [
    ['memory:', { kind: 'memory' }],
    ['sqlite:./data/sessions.db', { kind: 'sqlite', path: '/srv/app/data/sessions.db' }],
    ['sqlite:sessions.db', { kind: 'sqlite', path: '/srv/app/sessions.db' }],
    ['sqlite:/var/lib/tessera/sessions.db', { kind: 'sqlite', path: '/var/lib/tessera/sessions.db' }],
    ['sqlite:///var/lib/tessera/sessions.db', { kind: 'sqlite', path: '/var/lib/tessera/sessions.db' }],
    ['sqlite::memory:', { kind: 'sqlite', path: ':memory:' }],
    ['redis://127.0.0.1:6379', { kind: 'redis', url: 'redis://127.0.0.1:6379' }],
    ['redis://:secret@cache.internal:6380/2', { kind: 'redis', url: 'redis://:secret@cache.internal:6380/2' }],
    ['rediss://user:pw@cache.example.com', { kind: 'redis', url: 'rediss://user:pw@cache.example.com' }],
    [
      'redis-cluster://10.0.0.1:7000,10.0.0.2:7001,[::1]:7002',
      { kind: 'redis-cluster', nodes: [{ host: '10.0.0.1', port: 7000 }, { host: '10.0.0.2', port: 7001 }, { host: '::1', port: 7002 }] },
    ],
    [
      'redis-cluster://app:p%40ss@node-a:7000,node-b',
      { kind: 'redis-cluster', nodes: [{ host: 'node-a', port: 7000 }, { host: 'node-b', port: 6379 }], username: 'app', password: 'p@ss' },
    ],
    [
      'redis-sentinel://:pw@s1:26379,s2:26380,s3/mymaster',
      { kind: 'redis-sentinel', sentinels: [{ host: 's1', port: 26379 }, { host: 's2', port: 26380 }, { host: 's3', port: 26379 }], name: 'mymaster', password: 'pw' },
    ],
    ['redis-sentinel://s1:26379/mymaster', { kind: 'redis-sentinel', sentinels: [{ host: 's1', port: 26379 }], name: 'mymaster' }],
    ['postgres://tessera:pw@db:5432/app', { kind: 'postgres', connectionString: 'postgres://tessera:pw@db:5432/app' }],
    ['postgresql://db/app?sslmode=require', { kind: 'postgres', connectionString: 'postgresql://db/app?sslmode=require' }],
    ['redis://127.0.0.1:6379?prefix=app1:', { kind: 'redis', url: 'redis://127.0.0.1:6379', prefix: 'app1:' }],
    ['redis://:pw@cache/2?family=6&prefix={app}:', { kind: 'redis', url: 'redis://:pw@cache/2?family=6', prefix: '{app}:' }],
    ['redis-cluster://node-a:7000,node-b:7001?prefix=app1:', { kind: 'redis-cluster', nodes: [{ host: 'node-a', port: 7000 }, { host: 'node-b', port: 7001 }], prefix: 'app1:' }],
    ['redis-sentinel://:pw@s1/mymaster?prefix=app1:', { kind: 'redis-sentinel', sentinels: [{ host: 's1', port: 26379 }], name: 'mymaster', password: 'pw', prefix: 'app1:' }],
    ['postgres://tessera@db/app?table=app1_sessions&sslmode=require', { kind: 'postgres', connectionString: 'postgres://tessera@db/app?sslmode=require', table: 'app1_sessions' }],
    ['postgres://tessera@db/app?table=auth.sessions', { kind: 'postgres', connectionString: 'postgres://tessera@db/app', table: 'auth.sessions' }],
  ];
  for (const [spec, expected] of cases) {
    it(`reads ${spec}`, () => {
      assert.deepEqual(parseStoreSpec(spec, { cwd: '/srv/app' }), expected);
    });
  }

  const malformed: Array<[string, RegExp]> = [
    ['', /empty/],
    ['   ', /empty/],
    ['sessions.db', /no scheme/],
    ['mysql://user:topsecret@db/app', /"mysql:" is not a known store/],
    ['memory:extra', /memory: takes nothing/],
    ['sqlite:', /no database path/],
    ['redis://', /no host|not a valid URL/],
    ['redis://cache/abc', /not a database number/],
    ['redis-cluster://', /no host/],
    ['redis-cluster://node-a:notaport', /not host:port/],
    ['redis-cluster://node-a:70000', /out of range/],
    ['redis-cluster://node-a:7000/3', /no path/],
    ['redis-sentinel://s1:26379', /master name is missing/],
    ['redis-sentinel://s1:26379/', /master name is missing/],
    ['postgres://', /no host|not a valid URL/],
    ['redis://cache?prefix=', /prefix "" must be 1-64 characters/],
    ['redis://cache?prefix=a%20b', /prefix "a b" must be 1-64 characters/],
    ['redis-cluster://node-a:7000?db=1', /unknown parameter "db"/],
    ['redis-sentinel://s1/mymaster?prefix=app:&x=1', /unknown parameter "x"/],
    ['postgres://db/app?table=drop%20table', /table "drop table" must be an SQL identifier/],
  ];
  for (const [spec, reason] of malformed) {
    it(`refuses ${JSON.stringify(spec)} with ERR_CONFIG_STORE naming TESSERA_STORE and the accepted forms`, () => {
      assert.throws(
        () => parseStoreSpec(spec),
        (err: unknown) => {
          assert.ok(isTesseraError(err, 'ERR_CONFIG_STORE'), String(err));
          assert.match(err.message, /TESSERA_STORE/);
          assert.match(err.message, reason);
          for (const form of ['memory:', 'sqlite:', 'redis://', 'rediss://', 'redis-cluster://', 'redis-sentinel://', 'postgres://']) {
            assert.ok(err.message.includes(form), `message shows ${form}`);
          }
          assert.ok(!err.message.includes('topsecret'), 'the message does not show the password');
          return true;
        },
      );
    });
  }
});

describe('describeStore', () => {
  it('masks passwords and leaves everything else as written', () => {
    assert.equal(describeStore('redis://:secret@cache:6379/1'), 'redis://:****@cache:6379/1');
    assert.equal(describeStore('rediss://user:s3cr@t@cache:6379'), 'rediss://user:****@cache:6379');
    assert.equal(describeStore('redis-cluster://app:pw@a:7000,b:7001'), 'redis-cluster://app:****@a:7000,b:7001');
    assert.equal(describeStore('redis-sentinel://:pw@s1,s2/mymaster'), 'redis-sentinel://:****@s1,s2/mymaster');
    assert.equal(describeStore('postgres://tessera:pw@db/app'), 'postgres://tessera:****@db/app');
    assert.equal(describeStore('postgres://tessera@db/app?password=pw&sslmode=require'), 'postgres://tessera@db/app?password=****&sslmode=require');
    assert.equal(describeStore('redis://cache:6379'), 'redis://cache:6379');
    assert.equal(describeStore('sqlite:./.tessera/sessions.db'), 'sqlite:./.tessera/sessions.db');
    assert.equal(describeStore('memory:'), 'memory:');
  });
});

describe('openStore', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tessera-open-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('opens a working memory store', async () => {
    const store = openStore('memory:');
    const key = randomKey();
    const record = sampleRecord();
    await store.set(key, record, 60_000);
    assert.deepEqual(await store.get(key), hot(record));
    await store.close();
  });

  it('opens a SQLite store relative to the working directory', async () => {
    const store = openStore('sqlite:./nested/sessions.db', { cwd: dir });
    await store.ping();
    await store.close();
    assert.ok(existsSync(join(dir, 'nested', 'sessions.db')));
  });

  it('opens Redis and Postgres stores without connecting, and they answer 503 when nothing listens', async () => {
    const port = await freePort();
    for (const spec of [`redis://127.0.0.1:${port}`, `postgres://postgres@127.0.0.1:${port}/test`]) {
      const store = openStore(spec);
      await assert.rejects(store.ping(), (err) => isTesseraError(err, 'ERR_STORE_UNAVAILABLE') && err.status === 503);
      await store.close();
    }
  });

  it('keeps Redis keys under the prefix the URL names', async (t) => {
    const redis = await useRedis();
    if ('skip' in redis) return void t.skip(skipOrFail(redis.skip).skip);
    const prefix = `tessera-open-${randomKey().slice(0, 8)}:`;
    const store = openStore(`${redis.url}?prefix=${prefix}`);
    const client = new Redis(redis.url);
    try {
      const key = randomKey();
      await store.set(key, sampleRecord(), 60_000);
      assert.equal(await client.exists(`${prefix}s:${key}`), 1);
      assert.equal(await client.exists(`tessera:s:${key}`), 0);
    } finally {
      await store.close();
      for await (const keys of client.scanStream({ match: `${prefix}*` }) as AsyncIterable<string[]>) if (keys.length > 0) await client.del(...keys);
      client.disconnect();
      await redis.dispose();
    }
  });

  it('migrateStore creates a SQLite file and answers with the masked description', async () => {
    assert.equal(await migrateStore('sqlite:./migrated.db', { cwd: dir }), 'sqlite:./migrated.db');
    assert.ok(existsSync(join(dir, 'migrated.db')));
    assert.equal(await migrateStore('memory:'), 'memory:');
  });
});
