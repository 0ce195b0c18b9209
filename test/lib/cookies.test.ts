import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { clearCookie, readCookie, serializeCookie } from '../../src/lib/cookies.js';

describe('cookie parsing', () => {
  test('finds one cookie among many', () => {
    assert.deepEqual(readCookie('a=1; tessera=abc; b=2', 'tessera'), { found: true, value: 'abc', duplicate: false });
  });
  test('reports duplicates of the session cookie', () => {
    assert.equal((readCookie('tessera=a; x=1; tessera=b', 'tessera') as { duplicate: boolean }).duplicate, true);
  });
  test('does not confuse a prefix or suffix with the cookie', () => {
    assert.deepEqual(readCookie('xtessera=1; tessera2=2; __Host-tessera=3', 'tessera'), { found: false });
  });
  test('absent and empty headers are not found', () => {
    assert.deepEqual(readCookie(undefined, 'tessera'), { found: false });
    assert.deepEqual(readCookie('', 'tessera'), { found: false });
    assert.deepEqual(readCookie(';;;=;', 'tessera'), { found: false });
  });
});

describe('cookie attributes', () => {
  test('the https session cookie is Secure, HttpOnly, SameSite=Lax, Path=/, without Domain or persistence', () => {
    const cookie = serializeCookie('__Host-tessera', 'v', { secure: true, sameSite: 'Lax' });
    assert.equal(cookie, '__Host-tessera=v; Path=/; HttpOnly; SameSite=Lax; Secure');
    assert.doesNotMatch(cookie, /Domain|Max-Age|Expires/i);
  });
  test('Strict is configurable', () => {
    assert.match(serializeCookie('tessera', 'v', { secure: false, sameSite: 'Strict' }), /SameSite=Strict/);
  });
  test('clearing sets an empty value that expires at once', () => {
    assert.match(clearCookie('tessera', { secure: false, sameSite: 'Lax' }), /^tessera=; Path=\/; HttpOnly; SameSite=Lax; Max-Age=0; Expires=Thu, 01 Jan 1970/);
  });
});
