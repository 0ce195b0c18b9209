/**
 * Property-based tests (fast-check) of what takes raw input from the browser: the cookie parser,
 * `returnTo`, the per-request `authenticate()`, and the `/auth/*` routes (the callback above all)
 * — whatever comes in, a result or a 3xx/4xx comes out, never a throw or a 5xx.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as fc from 'fast-check';
import { isTesseraError } from '../../src/errors.js';
import { readCookie } from '../../src/lib/cookies.js';
import { safeReturnTo } from '../../src/lib/return-to.js';
import { newSessionId } from '../../src/session/ids.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { signIn } from './support.js';

const RUNS = 400;
const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** Characters a Cookie header can carry through `Headers` (no NUL, CR, LF; latin-1 only). */
const headerSafe = (s: string) => [...s].filter((c) => c !== '\0' && c !== '\r' && c !== '\n' && c.charCodeAt(0) <= 0xff).join('');

/** Whether a string holds a C0 control character, DEL or a backslash. */
const hasControlOrBackslash = (s: string) => [...s].some((c) => c.charCodeAt(0) < 0x20 || c === '\u007f' || c === '\\');

/** Strings full of the pieces open-redirect and header-injection tricks are made of. */
const trickyPath = fc.array(fc.constantFrom(
  '/', '//', '\\', '/\\', '%2F', '%2f', '%5C', '%5c', '%252F', '%25', ':', '@', '.', '..', 'evil.example', 'http', 'https:',
  'javascript:', 'data:', '%0d', '%0a', '\r', '\n', '\t', ' ', '?', '#', '%', '\u3002', '\uff0f', '\u2215', '\u0000', 'a', 'x=1', '&',
), { maxLength: 12 }).map((parts) => parts.join(''));

describe('cookie parser', () => {
  test('readCookie never throws and never returns a value holding a separator', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 300 }), fc.constantFrom('tessera', '__Host-tessera', 'a'), (header, name) => {
      const result = readCookie(header, name);
      if (result.found) {
        assert.equal(typeof result.value, 'string');
        assert.ok(!result.value.includes(';'));
        assert.equal(result.value, result.value.trim());
      }
    }), { numRuns: RUNS });
  });

  test('readCookie finds the first cookie of the name and flags every repetition', () => {
    const name = fc.constantFrom('tessera', 'Tessera', 'tessera2', '__Host-tessera', 'tessera-txn-x', 'x', 'tesser');
    const value = fc.oneof(fc.string({ unit: fc.constantFrom(...B64URL, '=', ' ', '"', ','), maxLength: 50 }), fc.constant(''));
    const separator = fc.constantFrom(';', '; ', ' ;', ';  ');
    fc.assert(fc.property(fc.array(fc.tuple(name, value, separator), { maxLength: 8 }), fc.boolean(), (pairs, padded) => {
      const header = pairs.map(([n, v, sep], i) => `${padded ? ' ' : ''}${n}=${v}${i < pairs.length - 1 ? sep : ''}`).join('');
      const matching = pairs.filter(([n]) => n === 'tessera');
      const result = readCookie(header, 'tessera');
      if (matching.length === 0) {
        assert.equal(result.found, false, header);
      } else {
        assert.deepEqual(result, { found: true, value: matching[0]![1].trim(), duplicate: matching.length > 1 }, header);
      }
    }), { numRuns: RUNS });
  });
});

describe('safeReturnTo', () => {
  const check = (input: string) => {
    const out = safeReturnTo(input);
    assert.equal(typeof out, 'string');
    if (out === '/') return;
    assert.ok(out.startsWith('/'), `${JSON.stringify(input)} → ${JSON.stringify(out)}`);
    assert.ok(!out.startsWith('//') && !out.startsWith('/\\'), `${JSON.stringify(input)} → ${JSON.stringify(out)}`);
    assert.equal(new URL(out, 'http://x.invalid').origin, 'http://x.invalid', `${JSON.stringify(input)} → ${JSON.stringify(out)}`);
    assert.equal(new URL(out, 'https://app.example.com').origin, 'https://app.example.com');
    assert.ok(!hasControlOrBackslash(out), 'no control characters or backslashes');
    assert.equal(safeReturnTo(out), out, 'stable when applied again');
  };

  test('any string gives / or a path on the same origin', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 200 }), check), { numRuns: RUNS });
  });

  test('strings built from redirect tricks give / or a path on the same origin', () => {
    fc.assert(fc.property(trickyPath, check), { numRuns: RUNS * 2 });
  });

  test('URLs of any origin give / or a path on the same origin', () => {
    fc.assert(fc.property(fc.webUrl({ withQueryParameters: true, withFragments: true }), fc.constantFrom('', '/', '//', '/\\', '\\'), (url, prefix) => {
      check(prefix + url);
      check(prefix + url.replace(/^https?:/, ''));
    }), { numRuns: RUNS });
  });

  test('a plain same-origin path is kept as it is', () => {
    const segment = fc.string({ unit: fc.constantFrom(...'abcxyz0123-_.~'), minLength: 1, maxLength: 10 });
    fc.assert(fc.property(fc.array(segment, { minLength: 1, maxLength: 5 }), (segments) => {
      const path = `/${segments.join('/')}`;
      if (segments.some((s) => s === '.' || s === '..')) return;
      assert.equal(safeReturnTo(path), path);
    }), { numRuns: RUNS });
  });
});

describe('authenticate() and the /auth routes', () => {
  let stack: Stack;
  let validId: string;
  before(async () => {
    stack = await startStack();
    validId = await signIn(stack, stack.browser());
  });
  after(async () => { await stack.close(); });

  test('authenticate() answers any Cookie header with a result, and only a lone valid cookie authenticates', async () => {
    const name = fc.constantFrom('tessera', 'tessera ', ' tessera', 'Tessera', '__Host-tessera', 'tessera-txn-abc', 'x', 'tessera\t');
    const value = fc.oneof(
      fc.constant(validId), fc.constant(` ${validId} `), fc.constant(`"${validId}"`), fc.constant(`${validId}=`),
      fc.constant(newSessionId()), fc.string({ unit: fc.constantFrom(...B64URL), minLength: 43, maxLength: 43 }),
      fc.string({ unit: 'binary-ascii', maxLength: 60 }),
    );
    const structured = fc.array(fc.tuple(name, value), { maxLength: 6 }).map((pairs) => pairs.map(([n, v]) => `${n}=${v}`).join('; '));
    await fc.assert(fc.asyncProperty(fc.oneof(structured, fc.string({ unit: 'binary', maxLength: 200 })), async (header) => {
      let result;
      try {
        result = await stack.tessera.authenticate(header);
      } catch (err) {
        assert.ok(isTesseraError(err, 'ERR_STORE_'), `threw ${String(err)}`);
        return;
      }
      assert.equal(typeof result.authenticated, 'boolean');
      // The reference: split on ";", trim names and values, the same rule browsers follow.
      const values = header.split(';').flatMap((part) => {
        const eq = part.indexOf('=');
        return eq !== -1 && part.slice(0, eq).trim() === 'tessera' ? [part.slice(eq + 1).trim()] : [];
      });
      const expected = values.length === 1 && values[0] === validId;
      assert.equal(result.authenticated, expected, JSON.stringify(header));
    }), { numRuns: RUNS });
  });

  test('the callback answers any query and cookies with a redirect or a 4xx, never a 5xx', async () => {
    // A few real transactions, so some inputs get past the state check to the code exchange.
    const real: Array<{ state: string; cookie: string }> = [];
    for (let i = 0; i < 6; i++) {
      const login = (await stack.tessera.handle(new Request(`${stack.url}/auth/login?returnTo=/r${i}`)))!;
      const state = new URL(login.headers.get('location')!).searchParams.get('state')!;
      real.push({ state, cookie: login.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ') });
    }
    const param = fc.constantFrom('code', 'state', 'iss', 'error', 'error_description', 'session_state', 'x', 'code', 'state');
    const paramValue = fc.oneof(fc.string({ maxLength: 40 }), fc.constant(stack.idp.issuer), fc.constant('login_required'), fc.constant('access_denied'), trickyPath);
    const query = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 120 }).map((q) => encodeURI(q.replace(/[\ud800-\udfff]/g, ''))),
      fc.array(fc.tuple(param, paramValue), { maxLength: 6 }).map((pairs) => new URLSearchParams(pairs).toString()),
    );
    const useReal = fc.option(fc.integer({ min: 0, max: real.length - 1 }), { nil: undefined });
    const cookie = fc.string({ unit: 'binary-ascii', maxLength: 80 }).map(headerSafe);
    await fc.assert(fc.asyncProperty(query, useReal, cookie, fc.boolean(), async (q, realIndex, extraCookie, api) => {
      const params = new URLSearchParams(q);
      let cookieHeader = extraCookie;
      if (realIndex !== undefined) {
        params.set('state', real[realIndex]!.state);
        cookieHeader = `${real[realIndex]!.cookie}; ${extraCookie}`;
      }
      const headers: Record<string, string> = { cookie: cookieHeader };
      if (api) headers.accept = 'application/json';
      const response = await stack.tessera.handle(new Request(`${stack.url}/auth/callback?${params}`, { headers }));
      assert.ok(response);
      assert.ok(response.status >= 300 && response.status < 500, `${response.status} for ?${params} with ${JSON.stringify(cookieHeader)}`);
      assert.equal(response.headers.get('cache-control'), 'no-store');
      assert.equal(response.headers.getSetCookie().some((c) => c.startsWith('tessera=') && !c.startsWith('tessera=;')), false, 'no session from a fuzzed callback');
      await response.body?.cancel();
    }), { numRuns: 150 });
  });

  test('every /auth route answers any method, path, body and headers without a 5xx', async () => {
    const path = fc.oneof(
      fc.constantFrom('/auth/login', '/auth/callback', '/auth/logout', '/auth/session', '/auth/backchannel-logout', '/auth/admin/users/alice/sessions', '/auth/', '/auth/x'),
      trickyPath.map((p) => `/auth/${encodeURI(p.replace(/[\ud800-\udfff]/g, ''))}`),
    );
    const method = fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS');
    const origin = fc.constantFrom(undefined, stack.url, 'https://evil.example', 'null');
    const body = fc.string({ unit: 'binary-ascii', maxLength: 200 });
    const query = fc.string({ maxLength: 60 }).map((q) => encodeURI(q.replace(/[\ud800-\udfff]/g, '')));
    await fc.assert(fc.asyncProperty(path, method, origin, body, query, fc.string({ unit: 'binary-ascii', maxLength: 60 }).map(headerSafe), async (p, m, o, b, q, cookie) => {
      const headers: Record<string, string> = { cookie, 'content-type': 'application/x-www-form-urlencoded' };
      if (o) headers.origin = o;
      const url = new URL(`${stack.url}${p}?${q}`);
      const response = await stack.tessera.handle(new Request(url, { method: m, headers, body: m === 'GET' ? undefined : b }));
      if (response === null) {
        assert.ok(!url.pathname.startsWith('/auth/'), `no answer for ${url.pathname}`);
        return;
      }
      assert.ok(response.status < 500, `${response.status} for ${m} ${p}?${q}`);
      await response.body?.cancel();
    }), { numRuns: 200 });
  });
});
