import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { safeReturnTo } from '../../src/lib/return-to.js';

describe('returnTo accepts only same-origin relative paths', () => {
  for (const value of ['/', '/dashboard', '/a/b?x=1&y=%2F#frag', '/caf%C3%A9', '/path;params']) {
    test(`keeps ${JSON.stringify(value)}`, () => assert.equal(safeReturnTo(value), value));
  }
  // Every rejected example of SECURITY.md, plus a few relatives.
  for (const value of [
    'https://evil.example', '//evil.example', '/\\evil.example', '\\/evil.example', 'https:evil.example',
    '/%2F%2Fevil.example', '/%2f%2fevil.example', '/%252F%252Fevil.example', '/%5Cevil.example',
    'javascript:alert(1)', 'data:text/html,<script>alert(1)</script>', '%0d%0aSet-Cookie:x=1',
    '/%0d%0aSet-Cookie:x=1', '/x\r\nSet-Cookie: a=b', 'https://app@evil.example', '//app@evil.example',
    '/\tevil', ' /x', '', 'x', '../x', '/' + 'a'.repeat(3000), '/%E0%A4%A',
  ]) {
    test(`rejects ${JSON.stringify(value.slice(0, 60))}`, () => assert.equal(safeReturnTo(value), '/'));
  }
  test('a non-string falls back', () => {
    assert.equal(safeReturnTo(undefined), '/');
    assert.equal(safeReturnTo(['/x']), '/');
  });
});
