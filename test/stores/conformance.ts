/**
 * The behaviour every session store must have, run by each store's test file against the real
 * backend (Lucia's `testAdapter` idea). Every test makes its own random keys, users and sids, so
 * the suite can share a database with other runs.
 */
import { strict as assert } from 'node:assert';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, it, type TestContext } from 'node:test';
import { isTesseraError } from '../../src/errors.js';
import { encodeCompact } from '../../src/stores/record.js';
import type { NewSession, SessionRecord, SessionStore } from '../../src/stores/types.js';

export type StoreFactory = () => Promise<SessionStore | { skip: string }>;

export interface ConformanceOptions {
  /** Two stores from `make()` share one backend (as gateway instances do): run the multi-instance tests. */
  sharedBackend?: boolean;
}

export const randomId = (): string => randomBytes(12).toString('base64url');
/** A key shaped like the real ones: SHA-256 of a session id, base64url. */
export const randomKey = (): string => createHash('sha256').update(randomBytes(32)).digest('base64url');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function sampleRecord(overrides: Partial<NewSession> = {}): NewSession {
  const now = Date.now();
  return {
    sub: `user-${randomId()}`,
    sid: `sid-${randomId()}`,
    roles: ['admin', 'user'],
    tid: 'tenant-1',
    scope: 'openid profile email',
    amr: ['pwd', 'mfa'],
    acr: 'mfa',
    authTime: Math.floor(now / 1000) - 42,
    accessTokenExpiresAt: Math.floor(now / 1000) + 3600,
    createdAt: now,
    lastSeenAt: now,
    idleExpiresAt: now + 30 * 60_000,
    absoluteExpiresAt: now + 12 * 3600_000,
    sealedTokens: `k1.${randomBytes(600).toString('base64url')}`,
    ...overrides,
  };
}

/** What `get` and `listByUser` answer for a session `set` wrote: the record without its tokens. */
export const hot = ({ sealedTokens: _, ...record }: NewSession): SessionRecord => record;

/** `record` as stores wrote it before the tokens moved out: its sealed tokens inside the record JSON (`k`). */
export const legacyRecordJson = (record: NewSession): string => JSON.stringify({ ...JSON.parse(encodeCompact(record)), k: record.sealedTokens });

/**
 * A session written in the old layout (`legacyRecordJson`) under `key`: it reads as a record
 * without tokens, its tokens come from the old place and survive a touch, a new `set` writes the
 * new layout, and deleting the user removes them.
 */
export async function assertLegacySessionReads(store: SessionStore, key: string, record: NewSession): Promise<void> {
  assert.deepEqual(await store.get(key), hot(record), 'the old session reads as a record without tokens');
  assert.equal(await store.getTokens(key), record.sealedTokens, 'its tokens come from the old place');
  const now = Date.now();
  await store.touch(key, now, now + 60_000, 60_000);
  assert.equal(await store.getTokens(key), record.sealedTokens, 'a touch keeps them');
  const replacement = sampleRecord({ sub: record.sub });
  await store.set(key, replacement, 60_000);
  assert.equal(await store.getTokens(key), replacement.sealedTokens, 'a new set writes the new layout');
  assert.equal(await store.deleteByUser(record.sub), 1);
  assert.equal(await store.getTokens(key), undefined);
}

const minute = 60_000;

export function testStore(name: string, make: StoreFactory, options: ConformanceOptions = {}): void {
  describe(`${name} store`, () => {
    let store: SessionStore | undefined;
    let skipReason: string | undefined;
    const opened: SessionStore[] = [];

    /** Another store from the factory, closed after the suite. */
    const another = async (): Promise<SessionStore> => {
      const made = await make();
      if ('skip' in made) throw new Error(made.skip);
      opened.push(made);
      return made;
    };

    before(async () => {
      const made = await make();
      if ('skip' in made) {
        if (process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false') {
          throw new Error(`${name}: ${made.skip} (CI is set, so a missing service is a failure)`);
        }
        skipReason = made.skip;
        return;
      }
      store = made;
      opened.push(made);
    });
    after(async () => {
      await Promise.all(opened.map((s) => s.close()));
    });

    const test = (title: string, fn: (store: SessionStore, t: TestContext) => Promise<void>) =>
      it(title, async (t) => {
        if (skipReason !== undefined) return t.skip(skipReason);
        assert.ok(store, 'store was opened');
        await fn(store, t);
      });
    const sharedTest = (title: string, fn: (a: SessionStore, b: SessionStore, t: TestContext) => Promise<void>) =>
      it(title, { skip: options.sharedBackend === true ? false : 'each instance of this store is private' }, async (t) => {
        if (skipReason !== undefined) return t.skip(skipReason);
        assert.ok(store, 'store was opened');
        await fn(store, await another(), t);
      });

    test('get of a key never set answers undefined', async (s) => {
      assert.equal(await s.get(randomKey()), undefined);
    });

    test('set then get returns every field of the record', async (s) => {
      const key = randomKey();
      const record = sampleRecord();
      await s.set(key, record, 10 * minute);
      assert.deepEqual(await s.get(key), hot(record));
    });

    test('a record without the optional fields comes back without them', async (s) => {
      const key = randomKey();
      const now = Date.now();
      const record: NewSession = {
        sub: `user-${randomId()}`,
        roles: [],
        accessTokenExpiresAt: Math.floor(now / 1000) + 60,
        createdAt: now,
        lastSeenAt: now,
        idleExpiresAt: now + minute,
        absoluteExpiresAt: now + 2 * minute,
        sealedTokens: '',
      };
      await s.set(key, record, minute);
      assert.deepEqual(await s.get(key), hot(record));
    });

    test('authTime (epoch seconds) comes back exactly, through get, touch and listByUser; a record without it has none', async (s) => {
      const sub = `user-${randomId()}`;
      const [withTime, zero, without] = [randomKey(), randomKey(), randomKey()];
      const now = Date.now();
      const authTime = Math.floor(now / 1000) - 3 * 3600;
      await s.set(withTime, sampleRecord({ sub, authTime, createdAt: now - 2 }), minute);
      await s.set(zero, sampleRecord({ sub, authTime: 0, createdAt: now - 1 }), minute);
      const { authTime: _, ...bare } = sampleRecord({ sub, createdAt: now });
      await s.set(without, bare, minute);
      assert.equal((await s.get(withTime))?.authTime, authTime);
      assert.equal((await s.get(zero))?.authTime, 0);
      const missing = await s.get(without);
      assert.ok(missing);
      assert.equal('authTime' in missing, false, 'no authTime key at all');
      await s.touch(withTime, now + 1, now + 20 * minute, minute);
      assert.equal((await s.get(withTime))?.authTime, authTime, 'touch keeps it');
      assert.deepEqual((await s.listByUser(sub)).map(({ record }) => record.authTime), [authTime, 0, undefined]);
    });

    test('the sign-in user agent and the binding hashes come back exactly, through get, touch and listByUser; a record without them has none', async (s) => {
      const sub = `user-${randomId()}`;
      const [full, partial, without] = [randomKey(), randomKey(), randomKey()];
      const now = Date.now();
      const binding = { userAgent: randomBytes(16).toString('base64url'), ipPrefix: randomBytes(16).toString('base64url') };
      const userAgent = `Agent "quoted" \\ ü ${'x'.repeat(150)}`;
      await s.set(full, sampleRecord({ sub, userAgent, binding, createdAt: now - 2 }), minute);
      await s.set(partial, sampleRecord({ sub, userAgent: 'curl/8', binding: { userAgent: binding.userAgent }, createdAt: now - 1 }), minute);
      const { userAgent: _u, binding: _b, ...bare } = sampleRecord({ sub, createdAt: now });
      await s.set(without, bare, minute);
      assert.deepEqual((await s.get(full))?.binding, binding);
      assert.equal((await s.get(full))?.userAgent, userAgent);
      assert.deepEqual((await s.get(partial))?.binding, { userAgent: binding.userAgent });
      const missing = await s.get(without);
      assert.ok(missing);
      assert.equal('userAgent' in missing, false, 'no userAgent key at all');
      assert.equal('binding' in missing, false, 'no binding key at all');
      await s.touch(full, now + 1, now + 20 * minute, minute);
      assert.deepEqual((await s.get(full))?.binding, binding, 'touch keeps it');
      assert.deepEqual((await s.listByUser(sub)).map(({ record }) => [record.userAgent, record.binding]), [[userAgent, binding], ['curl/8', { userAgent: binding.userAgent }], [undefined, undefined]]);
      await assert.rejects(s.set(randomKey(), { ...sampleRecord(), binding: { userAgent: 1 } } as unknown as NewSession, minute), TypeError);
      await assert.rejects(s.set(randomKey(), { ...sampleRecord(), userAgent: ['x'] } as unknown as NewSession, minute), TypeError);
    });

    test('changing a returned record does not change the stored one', async (s) => {
      const key = randomKey();
      await s.set(key, sampleRecord({ roles: ['user'] }), minute);
      const first = await s.get(key);
      assert.ok(first);
      first.roles.push('admin');
      first.lastSeenAt = 0;
      const second = await s.get(key);
      assert.deepEqual(second?.roles, ['user']);
      assert.notEqual(second?.lastSeenAt, 0);
    });

    test('a second set replaces the record', async (s) => {
      const key = randomKey();
      await s.set(key, sampleRecord(), minute);
      const replacement = sampleRecord({ roles: ['other'] });
      await s.set(key, replacement, minute);
      assert.deepEqual(await s.get(key), hot(replacement));
    });

    test('a record is gone once its TTL has passed', async (s) => {
      const key = randomKey();
      await s.set(key, sampleRecord(), 300);
      assert.ok(await s.get(key), 'present before the TTL');
      await sleep(450);
      assert.equal(await s.get(key), undefined);
    });

    test('a record whose idle expiry has passed reads as missing', async (s) => {
      const key = randomKey();
      await s.set(key, sampleRecord({ idleExpiresAt: Date.now() - 1 }), 10 * minute);
      assert.equal(await s.get(key), undefined);
    });

    test('a record whose absolute expiry has passed reads as missing', async (s) => {
      const key = randomKey();
      const now = Date.now();
      await s.set(key, sampleRecord({ createdAt: now - 2 * minute, absoluteExpiresAt: now - 1 }), 10 * minute);
      assert.equal(await s.get(key), undefined);
    });

    test('touch updates last-seen and idle expiry and extends the TTL', async (s) => {
      const key = randomKey();
      const record = sampleRecord();
      await s.set(key, record, 400);
      const lastSeenAt = Date.now();
      const idleExpiresAt = lastSeenAt + 20 * minute;
      await s.touch(key, lastSeenAt, idleExpiresAt, 10 * minute);
      await sleep(600);
      assert.deepEqual(await s.get(key), { ...hot(record), lastSeenAt, idleExpiresAt });
    });

    test('touch can shorten the TTL too', async (s) => {
      const key = randomKey();
      await s.set(key, sampleRecord(), 10 * minute);
      const now = Date.now();
      await s.touch(key, now, now + 20 * minute, 300);
      await sleep(450);
      assert.equal(await s.get(key), undefined);
    });

    test('get never returns the tokens; getTokens reads them, and a second set replaces them', async (s) => {
      const key = randomKey();
      const first = sampleRecord();
      await s.set(key, first, minute);
      const record = await s.get(key);
      assert.ok(record);
      assert.equal('sealedTokens' in record, false, 'no tokens field on the per-request read');
      assert.ok(!JSON.stringify(record).includes(first.sealedTokens.slice(3, 40)), 'no tokens anywhere in the record');
      assert.ok(!JSON.stringify(await s.listByUser(first.sub)).includes(first.sealedTokens.slice(3, 40)), 'nor in listings');
      assert.equal(await s.getTokens(key), first.sealedTokens);
      const second = sampleRecord({ sealedTokens: `k1.${randomBytes(1500).toString('base64url')}` });
      await s.set(key, second, minute);
      assert.equal(await s.getTokens(key), second.sealedTokens);
      assert.equal(await s.getTokens(randomKey()), undefined, 'a key never set has none');
    });

    test('tokens expire with their record: the TTL, the idle and the absolute expiry', async (s) => {
      const [ttl, idle, absolute] = [randomKey(), randomKey(), randomKey()];
      const now = Date.now();
      await s.set(ttl, sampleRecord(), 300);
      await s.set(idle, sampleRecord({ idleExpiresAt: now - 1 }), 10 * minute);
      await s.set(absolute, sampleRecord({ createdAt: now - 2 * minute, absoluteExpiresAt: now - 1 }), 10 * minute);
      assert.ok(await s.getTokens(ttl), 'present before the TTL');
      assert.equal(await s.getTokens(idle), undefined);
      assert.equal(await s.getTokens(absolute), undefined);
      await sleep(450);
      assert.equal(await s.getTokens(ttl), undefined);
      assert.equal(await s.get(ttl), undefined);
    });

    test('touch keeps the tokens alive as long as the record, and a shorter TTL ends both', async (s) => {
      const key = randomKey();
      const record = sampleRecord();
      await s.set(key, record, 400);
      const now = Date.now();
      await s.touch(key, now, now + 20 * minute, 10 * minute);
      await sleep(600);
      assert.ok(await s.get(key), 'the record lives on');
      assert.equal(await s.getTokens(key), record.sealedTokens, 'and so do its tokens');
      await s.touch(key, now + 1, now + 20 * minute, 300);
      await sleep(450);
      assert.equal(await s.get(key), undefined);
      assert.equal(await s.getTokens(key), undefined, 'the tokens end with it');
    });

    test('delete, deleteByUser and deleteBySid remove the tokens with the record, and a new set does not bring old ones back', async (s) => {
      const sub = `user-${randomId()}`;
      const [one, byUser, bySid] = [randomKey(), randomKey(), randomKey()];
      const sidRecord = sampleRecord();
      await s.set(one, sampleRecord(), minute);
      await s.set(byUser, sampleRecord({ sub }), minute);
      await s.set(bySid, sidRecord, minute);
      assert.equal(await s.delete(one), true);
      assert.equal(await s.deleteByUser(sub), 1);
      assert.equal(await s.deleteBySid(sidRecord.sid as string), 1);
      for (const key of [one, byUser, bySid]) assert.equal(await s.getTokens(key), undefined);
      const fresh = sampleRecord();
      await s.set(one, fresh, minute);
      assert.equal(await s.getTokens(one), fresh.sealedTokens);
    });

    test('touch of a missing key does nothing and does not create it', async (s) => {
      const key = randomKey();
      const now = Date.now();
      await s.touch(key, now, now + minute, minute);
      assert.equal(await s.get(key), undefined);
    });

    test('touch does not bring back a record past its idle expiry', async (s) => {
      const key = randomKey();
      const now = Date.now();
      await s.set(key, sampleRecord({ idleExpiresAt: now - 1 }), 10 * minute);
      await s.touch(key, now, now + 10 * minute, 10 * minute);
      assert.equal(await s.get(key), undefined);
    });

    test('delete answers true for a session that existed, then false', async (s) => {
      const key = randomKey();
      await s.set(key, sampleRecord(), minute);
      assert.equal(await s.delete(key), true);
      assert.equal(await s.get(key), undefined);
      assert.equal(await s.delete(key), false);
      assert.equal(await s.delete(randomKey()), false);
    });

    test('deleteByUser deletes every session of that user and none of anyone else', async (s) => {
      const alice = `alice-${randomId()}`;
      const bob = `bob-${randomId()}`;
      const aliceKeys = [randomKey(), randomKey(), randomKey()];
      const bobKeys = [randomKey(), randomKey()];
      for (const key of aliceKeys) await s.set(key, sampleRecord({ sub: alice }), minute);
      for (const key of bobKeys) await s.set(key, sampleRecord({ sub: bob }), minute);
      assert.equal(await s.deleteByUser(alice), 3);
      for (const key of aliceKeys) assert.equal(await s.get(key), undefined);
      for (const key of bobKeys) assert.ok(await s.get(key));
      assert.deepEqual(await s.listByUser(alice), []);
      assert.equal((await s.listByUser(bob)).length, 2);
      assert.equal(await s.deleteByUser(alice), 0);
      assert.equal(await s.deleteByUser(`nobody-${randomId()}`), 0);
    });

    test('deleteBySid deletes the sessions of that IdP session only', async (s) => {
      const alice = `alice-${randomId()}`;
      const sidX = `sid-${randomId()}`;
      const sidY = `sid-${randomId()}`;
      const [x1, x2, y1, other, plain] = [randomKey(), randomKey(), randomKey(), randomKey(), randomKey()];
      await s.set(x1, sampleRecord({ sub: alice, sid: sidX }), minute);
      await s.set(x2, sampleRecord({ sub: alice, sid: sidX }), minute);
      await s.set(y1, sampleRecord({ sub: alice, sid: sidY }), minute);
      await s.set(other, sampleRecord({ sid: `sid-${randomId()}` }), minute);
      const { sid: _, ...withoutSid } = sampleRecord({ sub: alice });
      await s.set(plain, withoutSid, minute);
      assert.equal(await s.deleteBySid(sidX), 2);
      assert.equal(await s.get(x1), undefined);
      assert.equal(await s.get(x2), undefined);
      assert.ok(await s.get(y1));
      assert.ok(await s.get(other));
      assert.deepEqual((await s.listByUser(alice)).map((e) => e.key).sort(), [y1, plain].sort());
      assert.equal(await s.deleteBySid(sidX), 0);
      assert.equal(await s.deleteBySid(`sid-${randomId()}`), 0);
    });

    test('listByUser lists the live sessions of that user, with keys, oldest first', async (s) => {
      const alice = `alice-${randomId()}`;
      const now = Date.now();
      const keys = [randomKey(), randomKey(), randomKey()];
      const records = keys.map((_, i) => sampleRecord({ sub: alice, createdAt: now - (3 - i) * 1000 }));
      // Written newest first, so the order of the answer comes from createdAt.
      for (let i = keys.length - 1; i >= 0; i--) await s.set(keys[i] as string, records[i] as NewSession, minute);
      await s.set(randomKey(), sampleRecord({ sub: alice, idleExpiresAt: now - 1 }), minute);
      await s.set(randomKey(), sampleRecord(), minute);
      const listed = await s.listByUser(alice);
      assert.deepEqual(listed, keys.map((key, i) => ({ key, record: hot(records[i] as NewSession) })));
      assert.deepEqual(await s.listByUser(`nobody-${randomId()}`), []);
    });

    test('setting a key again for another user and sid moves it between users and sids', async (s) => {
      const key = randomKey();
      const before = sampleRecord();
      const afterwards = sampleRecord();
      await s.set(key, before, minute);
      await s.set(key, afterwards, minute);
      assert.deepEqual(await s.listByUser(before.sub), []);
      assert.equal(await s.deleteByUser(before.sub), 0);
      assert.equal(await s.deleteBySid(before.sid as string), 0);
      assert.deepEqual(await s.get(key), hot(afterwards));
      assert.deepEqual(await s.listByUser(afterwards.sub), [{ key, record: hot(afterwards) }]);
      assert.equal(await s.deleteBySid(afterwards.sid as string), 1);
    });

    test('a user can have many sessions', async (s) => {
      const alice = `alice-${randomId()}`;
      const keys = Array.from({ length: 60 }, () => randomKey());
      await Promise.all(keys.map((key) => s.set(key, sampleRecord({ sub: alice }), minute)));
      assert.deepEqual((await s.listByUser(alice)).map((e) => e.key).sort(), [...keys].sort());
      assert.equal(await s.deleteByUser(alice), 60);
      assert.deepEqual(await s.listByUser(alice), []);
    });

    test('keys, users and sids with unusual characters work', async (s) => {
      const odd = `{tag}:*?[x] %s "quote" ' back\\slash é 😀 ${randomId()}`;
      const key = `key ${odd}`;
      const sub = `user ${odd}`;
      const sid = `sid ${odd}`;
      const record = sampleRecord({ sub, sid, roles: ['ro"le', 'é'], scope: 'a\nb' });
      await s.set(key, record, minute);
      assert.deepEqual(await s.get(key), hot(record));
      assert.deepEqual(await s.listByUser(sub), [{ key, record: hot(record) }]);
      const now = Date.now();
      await s.touch(key, now, now + minute, minute);
      assert.equal((await s.get(key))?.lastSeenAt, now);
      assert.equal(await s.deleteBySid(sid), 1);
      await s.set(key, record, minute);
      assert.equal(await s.deleteByUser(sub), 1);
      await s.set(key, record, minute);
      assert.equal(await s.delete(key), true);
      assert.equal(await s.putOnce(`jti:${odd}`, minute), true);
      assert.equal(await s.putOnce(`jti:${odd}`, minute), false);
    });

    test('putOnce answers true once, false while the marker lives, and true again after its TTL', async (s) => {
      const key = `jti:${randomId()}`;
      assert.equal(await s.putOnce(key, 300), true);
      assert.equal(await s.putOnce(key, 300), false);
      await sleep(450);
      assert.equal(await s.putOnce(key, 300), true);
    });

    test('concurrent putOnce of one key answers true exactly once', async (s) => {
      const key = `jti:${randomId()}`;
      const answers = await Promise.all(Array.from({ length: 25 }, () => s.putOnce(key, minute)));
      assert.equal(answers.filter(Boolean).length, 1);
    });

    test('putOnce markers and sessions do not collide', async (s) => {
      const key = randomKey();
      assert.equal(await s.putOnce(key, minute), true);
      assert.equal(await s.get(key), undefined);
      await s.set(key, sampleRecord(), minute);
      assert.equal(await s.putOnce(key, minute), false);
      assert.ok(await s.get(key));
    });

    test('programmer mistakes are TypeErrors, not store errors', async (s) => {
      const broken = { ...sampleRecord(), sub: '' };
      await assert.rejects(s.set(randomKey(), broken, minute), TypeError);
      for (const authTime of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '1700000000', null]) {
        await assert.rejects(s.set(randomKey(), { ...sampleRecord(), authTime } as unknown as NewSession, minute), TypeError, `authTime ${String(authTime)}`);
      }
      await assert.rejects(s.set(randomKey(), sampleRecord(), Number.NaN), TypeError);
      await assert.rejects(s.set('', sampleRecord(), minute), TypeError);
      await assert.rejects(s.putOnce('', minute), TypeError);
      await assert.rejects(s.getTokens(''), TypeError);
      await assert.rejects(s.set(randomKey(), { ...sampleRecord(), sealedTokens: undefined } as unknown as NewSession, minute), TypeError);
    });

    test('ping resolves while the backend answers', async (s) => {
      await s.ping();
    });

    test('close can be called twice, and calls afterwards reject with ERR_STORE_UNAVAILABLE', async () => {
      const made = await make();
      if ('skip' in made) throw new Error(made.skip);
      await made.ping();
      await made.close();
      await made.close();
      await assert.rejects(made.get(randomKey()), (err) => isTesseraError(err, 'ERR_STORE_UNAVAILABLE') && err.status === 503);
      await assert.rejects(made.getTokens(randomKey()), (err) => isTesseraError(err, 'ERR_STORE_UNAVAILABLE'));
      await assert.rejects(made.ping(), (err) => isTesseraError(err, 'ERR_STORE_UNAVAILABLE'));
    });

    sharedTest('a session written through one instance is read, touched and deleted through another', async (a, b) => {
      const key = randomKey();
      const record = sampleRecord();
      await a.set(key, record, minute);
      assert.deepEqual(await b.get(key), hot(record));
      assert.equal(await b.getTokens(key), record.sealedTokens);
      const now = Date.now();
      await b.touch(key, now, now + 5 * minute, 5 * minute);
      assert.equal((await a.get(key))?.lastSeenAt, now);
      assert.deepEqual(await b.listByUser(record.sub), [{ key, record: { ...hot(record), lastSeenAt: now, idleExpiresAt: now + 5 * minute } }]);
      assert.equal(await b.delete(key), true);
      assert.equal(await a.get(key), undefined);
    });

    sharedTest('putOnce across instances answers true exactly once', async (a, b) => {
      const key = `jti:${randomId()}`;
      const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? a : b).putOnce(key, minute)));
      assert.equal(answers.filter(Boolean).length, 1);
    });

    sharedTest('a delete through one instance reaches the invalidation listeners of another', async (a, b, t) => {
      if (b.onInvalidate === undefined) return t.skip('this store sends no invalidations');
      const heard = new Set<string | undefined>();
      b.onInvalidate((key) => heard.add(key));
      // Subscribing is asynchronous: repeat until a delete is heard (bounded), then check all kinds.
      const deadline = Date.now() + 5000;
      let key = randomKey();
      for (;;) {
        await a.set(key, sampleRecord(), minute);
        await a.delete(key);
        await sleep(100);
        if (heard.has(key)) break;
        assert.ok(Date.now() < deadline, 'no invalidation heard within 5 s');
        key = randomKey();
      }
      const byUser = sampleRecord();
      const byUserKey = randomKey();
      await a.set(byUserKey, byUser, minute);
      await a.deleteByUser(byUser.sub);
      const bySid = sampleRecord();
      const bySidKey = randomKey();
      await a.set(bySidKey, bySid, minute);
      await a.deleteBySid(bySid.sid as string);
      const until = Date.now() + 3000;
      while (!(heard.has(byUserKey) && heard.has(bySidKey)) && Date.now() < until) await sleep(50);
      assert.ok(heard.has(byUserKey), 'deleteByUser was announced');
      assert.ok(heard.has(bySidKey), 'deleteBySid was announced');
    });
  });
}
