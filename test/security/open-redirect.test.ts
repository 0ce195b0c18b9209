/**
 * SECURITY.md, "Login transaction": `returnTo` and post-logout targets are only same-origin
 * relative paths — checked on what Tessera writes, after the URL parser has removed dot segments
 * and re-encoded (`/.//evil.example` → `//evil.example` was an open redirect), for `returnTo`
 * of `/auth/login`, the request path an anonymous browser is sent back to, and
 * `TESSERA_POST_LOGOUT_PATH`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as fc from 'fast-check';
import { resolveConfig } from '../../src/config/index.js';
import { isTesseraError } from '../../src/errors.js';
import { safeReturnTo } from '../../src/lib/return-to.js';
import { parseKeyRing } from '../../src/keys/index.js';
import type { Transaction } from '../../src/oidc/transaction.js';
import type { Browser } from '../helpers/browser.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { loginUntilCallback, rawExchange, rawStatus } from './support.js';

/** Payloads that the URL parser's dot-segment removal (or a decoding server) turns into `//evil.example`. */
const knownPayloads = [
  '/.//evil.example/x', '/..//evil.example', '/%2e//evil.example', '/%2E//evil.example', '/a/..//evil.example',
  '/.%2e//evil.example', '/%2e%2e//evil.example', '/a/b/../..//evil.example', '/a/%2e%2e/%2fevil.example',
  '/.%2f%2fevil.example', '/%2e%2e%2f%2fevil.example', '/%252e%252e%252f%252fevil.example', '/./\\evil.example',
  '/.//evil.example?x=1#y', '/x/.././/evil.example',
];

/** Pieces of paths: dot segments plain and encoded, slashes, backslashes, tabs, overlong UTF-8. */
const segment = fc.constantFrom(
  '', '.', '..', '%2e', '%2E', '.%2e', '%2e.', '%2e%2e', '%2E%2e', '%252e', '%252e%252e', 'a', 'evil.example', 'EVIL.example',
  '%2f', '%2F', '%252f', '%5c', '%5C', '\\', '\t', '%09', '%c0%af', '%c0%ae', '%C0%AE%C0%AE', '%e0%80%af', ' ',
);

/** One mutation of a payload at a position: case, (double) percent-encoding, dot segments, slashes, tabs, overlong UTF-8. */
type Mutation = { kind: number; at: number };
const mutation: fc.Arbitrary<Mutation> = fc.record({ kind: fc.nat({ max: 11 }), at: fc.nat({ max: 200 }) });

function mutate(value: string, { kind, at }: Mutation): string {
  const i = value.length === 0 ? 0 : at % value.length;
  const ch = value[i] ?? '';
  const splice = (replacement: string) => value.slice(0, i) + replacement + value.slice(i + 1);
  const insert = (text: string) => value.slice(0, i) + text + value.slice(i);
  switch (kind) {
    case 0: return value.toUpperCase();
    case 1: return splice(ch === ch.toLowerCase() ? ch.toUpperCase() : ch.toLowerCase());
    case 2: return splice(encodeChar(ch));
    case 3: return splice(encodeChar(ch).replace(/%/g, '%25')); // double
    case 4: return value.replace(/%/g, '%25');
    case 5: return insert(['/.', '/..', '/%2e', '/%2E', '/.%2e', '/%2e%2e'][at % 6]!);
    case 6: return ch === '/' ? splice('\\') : insert('\\');
    case 7: return insert(at % 2 === 0 ? '\t' : '%09');
    case 8: return ch === '/' ? splice('%c0%af') : ch === '.' ? splice('%c0%ae') : insert('%c0%af');
    case 9: return ch === '/' ? splice('//') : insert('//');
    case 10: return insert('/./');
    default: return value.replace(/\.\./g, '%2e%2e');
  }
}

function encodeChar(ch: string): string {
  if (ch === '') return '';
  const hex = [...Buffer.from(ch)].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');
  return hex.length % 2 === 0 ? hex : hex.toUpperCase();
}

const fromKnown = fc.tuple(fc.constantFrom(...knownPayloads), fc.array(mutation, { maxLength: 4 }))
  .map(([payload, mutations]) => mutations.reduce(mutate, payload));
const fromSegments = fc.tuple(fc.array(segment, { minLength: 1, maxLength: 6 }), fc.array(mutation, { maxLength: 2 }))
  .map(([segments, mutations]) => mutations.reduce(mutate, `/${segments.join('/')}`));
const payload = fc.oneof(fromKnown, fromSegments);

const base = 'http://tessera.test';

/** Every form a server might read a path in: as is, decoded once and twice (when decodable). */
function decodings(value: string): string[] {
  const out = [value];
  for (let i = 0; i < 2; i++) {
    try {
      const next = decodeURIComponent(out.at(-1)!);
      if (next === out.at(-1)) break;
      out.push(next);
    } catch {
      break;
    }
  }
  return out;
}

/** The property of what Tessera writes: a path that resolves on the base origin however it is read. */
function assertSameOriginPath(out: string, input: string): void {
  const why = `${JSON.stringify(input)} → ${JSON.stringify(out)}`;
  assert.match(out, /^\/[\x21-\x7e]*$/, `printable ASCII starting with "/": ${why}`);
  assert.ok(!out.includes('\\'), `no backslash: ${why}`);
  for (const form of decodings(out)) {
    assert.ok(!form.startsWith('//') && !form.startsWith('/\\'), `no "//" or "/\\" at the start of ${JSON.stringify(form)}: ${why}`);
    for (const origin of [base, 'https://app.example.com']) {
      const resolved = new URL(form, `${origin}/some/page`);
      assert.equal(resolved.origin, origin, why);
      assert.ok(!resolved.pathname.startsWith('//'), `resolves to ${resolved.href}: ${why}`);
    }
  }
}

describe('safeReturnTo checks the value it returns', () => {
  test('falls back for every known payload, and keeps a path whose dot segments stay on it', () => {
    for (const value of knownPayloads) assert.equal(safeReturnTo(value), '/', JSON.stringify(value));
    assert.equal(safeReturnTo('/a/./b/../c?x=1#y'), '/a/c?x=1#y');
    assert.equal(safeReturnTo('/a/%2e%2e/b'), '/b');
    assert.equal(safeReturnTo('/.'), '/');
  });

  test('for any mutation of the known payloads the result is a same-origin path, and a fixed point', () => {
    fc.assert(fc.property(payload, (input) => {
      const out = safeReturnTo(input);
      assertSameOriginPath(out, input);
      assert.equal(safeReturnTo(out), out, 'applying it again changes nothing');
    }), { numRuns: 3000 });
  });
});

describe('postLogoutPath (TESSERA_POST_LOGOUT_PATH)', () => {
  const options = { issuer: 'http://localhost:4000', clientId: 'c', clientSecret: 's', development: true } as const;
  const resolve = (postLogoutPath: string): string | Error => {
    try {
      return resolveConfig({ ...options, postLogoutPath }).postLogoutPath!;
    } catch (err) {
      return err as Error;
    }
  };

  test('a path that becomes //evil.example once resolved or decoded is refused at start', () => {
    for (const target of [...knownPayloads, '/.//evil.example']) {
      const result = resolve(target);
      assert.ok(isTesseraError(result, 'ERR_CONFIG_INVALID'), `${JSON.stringify(target)} accepted as ${JSON.stringify(result)}`);
      assert.match(result.message, /postLogoutPath|TESSERA_POST_LOGOUT_PATH/);
    }
    assert.equal(resolve('/bye?x=1'), '/bye?x=1');
  });

  test('whatever is configured, an accepted post-logout path is a same-origin path', () => {
    fc.assert(fc.property(payload, (target) => {
      const result = resolve(target);
      if (result instanceof Error) {
        assert.ok(isTesseraError(result, 'ERR_CONFIG_INVALID'), String(result));
        return;
      }
      assertSameOriginPath(result, target);
    }), { numRuns: 1000 });
  });
});

describe('every Location of the sign-in resolves to the public origin or the IdP', () => {
  let stack: Stack;
  let idpOrigin: string;
  const keys = () => parseKeyRing(stack.keys);
  before(async () => {
    stack = await startStack();
    idpOrigin = new URL(stack.idp.issuer).origin;
  });
  after(async () => { await stack.close(); });

  const origin = () => new URL(stack.url).origin;
  const allowed = (location: string) => [origin(), idpOrigin].includes(new URL(location, stack.url).origin);

  /** The returnTo sealed into the transaction cookie(s) a response sets: where the callback will send the browser. */
  function sealedReturnTo(setCookies: string[]): string[] {
    return setCookies.filter((c) => /^tessera-txn-[^=]+=[^;]/.test(c)).map((c) => {
      const value = c.slice(c.indexOf('=') + 1, c.indexOf(';'));
      const json = keys().open(value, 'txn');
      assert.ok(json !== undefined, 'the transaction cookie opens');
      return (JSON.parse(json) as Transaction).returnTo;
    });
  }

  /** `GET /auth/login?returnTo=…`: Location on the IdP, and the callback's future Location on this origin. */
  async function checkLogin(query: string, input: string): Promise<void> {
    const response = await fetch(`${stack.url}/auth/login?${query}`, { redirect: 'manual' });
    await response.body?.cancel();
    assert.equal(response.status, 302, input);
    const location = response.headers.get('location')!;
    assert.ok(allowed(location), `${JSON.stringify(input)} → Location ${location}`);
    const returnTo = sealedReturnTo(response.headers.getSetCookie());
    assert.equal(returnTo.length, 1);
    assertSameOriginPath(returnTo[0]!, input);
    assert.equal(new URL(returnTo[0]!, stack.url).origin, origin());
  }

  test('GET /auth/login?returnTo=<payload>, encoded or raw in the query', async () => {
    await fc.assert(fc.asyncProperty(payload, fc.boolean(), async (input, raw) => {
      const query = raw ? `returnTo=${input.replace(/[^\x21-\x7e]/g, encodeURIComponent).replace(/[&#]/g, encodeURIComponent)}` : `returnTo=${encodeURIComponent(input)}`;
      await checkLogin(query, input);
    }), { numRuns: 100 });
  });

  test('an unauthenticated raw GET <payload> is sent to a login whose return is on this origin', async () => {
    const port = Number(new URL(stack.url).port);
    await fc.assert(fc.asyncProperty(payload, async (input) => {
      // What can go into a raw request line: no space or control characters (a tab gets a 400).
      // eslint-disable-next-line no-control-regex -- control characters are what is encoded
      const target = input.replace(/[\x00-\x20\x7f-\uffff]/g, encodeURIComponent);
      if (target.startsWith('/auth/')) return;
      const answer = await rawExchange(port, `GET ${target} HTTP/1.1\r\nHost: localhost\r\nAccept: text/html\r\nSec-Fetch-Mode: navigate\r\nConnection: close\r\n\r\n`);
      const status = rawStatus(answer);
      const location = /\r\nlocation: ([^\r]*)\r\n/i.exec(answer)?.[1];
      if (status === 400) return assert.equal(location, undefined);
      assert.equal(status, 302, `${target}: ${answer.slice(0, 200)}`);
      assert.ok(location !== undefined && new URL(location, stack.url).origin === origin(), `${target} → Location ${location}`);
      const loginUrl = new URL(location, stack.url);
      assert.equal(loginUrl.pathname, '/auth/login');
      await checkLogin(loginUrl.search.slice(1), target);
    }), { numRuns: 100 });
  });

  /** A full sign-in up to the callback; the callback's own Location. */
  async function callbackLocation(browser: Browser, returnTo: string): Promise<string> {
    const callback = await loginUntilCallback(stack, browser, 'alice', returnTo);
    const response = await browser.request(callback.href);
    assert.equal(response.status, 302, `${returnTo}: ${response.text.slice(0, 200)}`);
    return response.headers.get('location')!;
  }

  test('a full sign-in with each known payload as returnTo ends on the public origin', async () => {
    for (const returnTo of knownPayloads) {
      const location = await callbackLocation(stack.browser(), returnTo);
      assert.equal(new URL(location, stack.url).origin, origin(), `${JSON.stringify(returnTo)} → Location ${location}`);
      assertSameOriginPath(location, returnTo);
    }
  });

  test('a full sign-in started by an anonymous raw GET of each known payload ends on the public origin', async () => {
    const port = Number(new URL(stack.url).port);
    for (const payloadPath of knownPayloads) {
      const target = payloadPath.replace(/\\/g, '%5C');
      const answer = await rawExchange(port, `GET ${target} HTTP/1.1\r\nHost: localhost\r\nAccept: text/html\r\nConnection: close\r\n\r\n`);
      // A path Tessera will not interpret (an encoded "/" or "\\") is refused outright: safe too.
      if (rawStatus(answer) === 400) continue;
      assert.equal(rawStatus(answer), 302, target);
      const returnTo = new URL(/\r\nlocation: ([^\r]*)\r\n/i.exec(answer)![1]!, stack.url).searchParams.get('returnTo')!;
      const location = await callbackLocation(stack.browser(), returnTo);
      assert.equal(new URL(location, stack.url).origin, origin(), `${target} → Location ${location}`);
    }
  });

  test('a transaction sealed with an off-site returnTo (as an older release wrote it) still lands on this origin', async () => {
    for (const returnTo of ['//evil.example/x', 'https://evil.example/', '/\\evil.example', 'javascript:alert(1)']) {
      const browser = stack.browser();
      const callback = await loginUntilCallback(stack, browser);
      const name = browser.jar.names('localhost').find((n) => n.startsWith('tessera-txn-'))!;
      const txn = JSON.parse(keys().open(browser.jar.get(name, stack.url)!, 'txn')!) as Transaction;
      browser.jar.store(stack.url, new Headers({ 'set-cookie': `${name}=${keys().seal(JSON.stringify({ ...txn, returnTo }), 'txn')}; Path=/` }));
      const response = await browser.request(callback.href);
      assert.equal(response.status, 302);
      const location = response.headers.get('location')!;
      assert.equal(new URL(location, stack.url).origin, origin(), `${returnTo} → Location ${location}`);
      assert.ok(stack.sessionCookie(browser), 'the sign-in itself completed');
    }
  });
});
