import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { generateKeyEntry, parseKeyRing } from '../../src/keys/index.js';

describe('sealing key ring', () => {
  test('seals and opens with AES-256-GCM under the first key', () => {
    const entry = generateKeyEntry();
    const ring = parseKeyRing(entry);
    const sealed = ring.seal('secret tokens', 'session');
    assert.ok(sealed.startsWith(entry.split(':')[0] + '.'));
    assert.ok(!sealed.includes('secret'));
    assert.equal(ring.open(sealed, 'session'), 'secret tokens');
  });

  test('a value sealed for one purpose does not open for another', () => {
    const ring = parseKeyRing(generateKeyEntry());
    assert.equal(ring.open(ring.seal('x', 'txn'), 'session'), undefined);
  });

  test('a tampered value does not open', () => {
    const ring = parseKeyRing(generateKeyEntry());
    const sealed = ring.seal('hello', 'p');
    const flipped = sealed.slice(0, -2) + (sealed.at(-2) === 'A' ? 'B' : 'A') + sealed.slice(-1);
    assert.equal(ring.open(flipped, 'p'), undefined);
    for (const junk of ['', '...', 'a.b.c', `${ring.currentKid}.AAAA.AAAA`, 'x'.repeat(5000)]) assert.equal(ring.open(junk, 'p'), undefined);
  });

  test('rotation: a new first key seals, the old one still opens', () => {
    const oldEntry = generateKeyEntry();
    const sealedBefore = parseKeyRing(oldEntry).seal('before', 'p');
    const rotated = parseKeyRing(`${generateKeyEntry()},${oldEntry}`);
    assert.equal(rotated.open(sealedBefore, 'p'), 'before');
    assert.notEqual(rotated.seal('after', 'p').split('.')[0], oldEntry.split(':')[0]);
    assert.equal(parseKeyRing(generateKeyEntry()).open(sealedBefore, 'p'), undefined);
  });

  test('a malformed ring is a clear configuration error', () => {
    for (const spec of ['', 'nokey', 'k1:short', `k1:${Buffer.alloc(32).toString('base64url')},k1:${Buffer.alloc(32).toString('base64url')}`]) {
      assert.throws(() => parseKeyRing(spec), (err: Error & { code?: string }) => err.code === 'ERR_CONFIG_KEYS' && /TESSERA_KEYS/.test(err.message));
    }
  });
});
