// The verified-token cache on its own, with a hand-driven clock.
import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { createVerifiedTokenCache } from '../../src/tokens/cache.js';

function clockAt(start: number) {
  const clock = { t: start, now: () => clock.t };
  return clock;
}

test('keys entries by the SHA-256 of the token, never the token itself', () => {
  const cache = createVerifiedTokenCache<string>();
  const token = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1In0.c2ln';
  const key = cache.keyOf(token);
  assert.equal(key, createHash('sha256').update(token).digest('base64url'));
  assert.ok(!key.includes(token));
});

test('returns a cached value until its expiry, then reports it expired and forgets it', () => {
  const clock = clockAt(1_000_000);
  const cache = createVerifiedTokenCache<{ sub: string }>({ now: clock.now });
  cache.set('k', { sub: 'u' }, 1_005_000);
  assert.deepEqual(cache.get('k'), { sub: 'u' });
  clock.t = 1_004_999;
  assert.deepEqual(cache.get('k'), { sub: 'u' });
  clock.t = 1_005_000; // on the expiry instant it is already expired
  assert.equal(cache.get('k'), 'expired');
  assert.equal(cache.get('k'), undefined);
  assert.equal(cache.size, 0);
});

test('does not store a value that is already expired', () => {
  const clock = clockAt(10_000);
  const cache = createVerifiedTokenCache<number>({ now: clock.now });
  cache.set('k', 1, 9_000);
  assert.equal(cache.get('k'), undefined);
  assert.equal(cache.size, 0);
});

test('stays within its bound by evicting the least recently used entry', () => {
  const clock = clockAt(0);
  const cache = createVerifiedTokenCache<number>({ max: 3, now: clock.now });
  cache.set('a', 1, 10_000);
  cache.set('b', 2, 10_000);
  cache.set('c', 3, 10_000);
  assert.equal(cache.get('a'), 1); // a becomes the most recently used
  cache.set('d', 4, 10_000);
  assert.equal(cache.size, 3);
  assert.equal(cache.get('b'), undefined);
  assert.equal(cache.get('a'), 1);
  assert.equal(cache.get('c'), 3);
  assert.equal(cache.get('d'), 4);
});

test('refuses a bound that is not a positive integer', () => {
  for (const max of [0, -1, 1.5, Number.NaN]) assert.throws(() => createVerifiedTokenCache({ max }), TypeError);
});
