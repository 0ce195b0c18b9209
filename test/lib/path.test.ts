import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { isUnder, normalisePath } from '../../src/lib/path.js';

const ok = (target: string) => {
  const n = normalisePath(target);
  assert.ok(n.ok, `${target} refused: ${n.ok ? '' : n.reason}`);
  return n.path + n.query;
};
const refused = (target: string) => assert.equal(normalisePath(target).ok, false, `${target} was accepted`);

describe('request paths are put in one canonical spelling', () => {
  test('dot segments are removed, also when written as %2e', () => {
    assert.equal(ok('/public/../admin'), '/admin');
    assert.equal(ok('/public/%2e%2e/admin'), '/admin');
    assert.equal(ok('/public/.%2E/admin'), '/admin');
    assert.equal(ok('/a/./b/.'), '/a/b/');
    assert.equal(ok('/a/b/../../../..'), '/');
  });
  test('doubled slashes merge and encoded unreserved characters are decoded', () => {
    assert.equal(ok('//admin'), '/admin');
    assert.equal(ok('/.//evil.example'), '/evil.example');
    assert.equal(ok('/%61dm%69n?x=%2F'), '/admin?x=%2F');
    assert.equal(ok('/caf%c3%a9'), '/caf%C3%A9');
  });
  test('what servers read differently is refused', () => {
    for (const target of ['/public/..%2fadmin', '/a%2Fb', '/a%5cb', '/a\\b', '/a%00', '/a\tb', '/a%7f', '/a/..;/b', '/a/.;x/b', '/%zz', 'admin']) refused(target);
  });
  test('the canonical form is a fixed point', () => {
    const piece = fc.constantFrom('a', 'admin', 'public', '.', '..', '%2e', '%2E', '%2e%2e', '.%2e', '', '%61', '%7e', '~', 'x;y=1', '%c3%a9', 'A');
    fc.assert(fc.property(fc.array(piece, { maxLength: 8 }), (parts) => {
      const n = normalisePath(`/${parts.join('/')}`);
      if (!n.ok) return;
      const again = normalisePath(n.path);
      assert.ok(again.ok);
      assert.equal(again.path, n.path);
      assert.ok(!n.path.includes('//'), n.path);
      assert.ok(!n.path.split('/').some((s) => s === '.' || s === '..'), n.path);
    }), { numRuns: 2000 });
  });
});

describe('prefixes match on segment boundaries', () => {
  test('/admin matches /admin, /admin/ and /admin/x, never /administrator', () => {
    for (const p of ['/admin', '/admin/', '/admin/x']) assert.ok(isUnder(p, '/admin'), p);
    assert.ok(!isUnder('/administrator', '/admin'));
    assert.ok(isUnder('/anything', '/'));
  });
});
