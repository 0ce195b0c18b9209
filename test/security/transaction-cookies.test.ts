/**
 * SECURITY.md, "Session identifiers and cookies" and "Login transaction": every cookie Tessera
 * sets stays under 4096 bytes (a larger one is dropped by browsers), the pending transaction
 * cookies of one browser stay far below the gateway's 16 KB header limit (else: 431 for ten
 * minutes), and a request full of cookies named like transaction cookies gets back only the few
 * clearing headers Tessera itself could owe it.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import * as fc from 'fast-check';
import { safeReturnTo } from '../../src/lib/return-to.js';
import { parseKeyRing, type KeyRing } from '../../src/keys/index.js';
import { newTransaction, TransactionCookies, type Transaction } from '../../src/oidc/transaction.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { loginUntilCallback, rawExchange, rawStatus } from './support.js';

/** The bound on pending transactions (SECURITY.md: stale transaction cookies do not pile up). */
const pendingBound = 3;
const maxCookieBytes = 4096;

const emoji = ['😀', '👩‍👩‍👧‍👦', '🇫🇷', '🤦🏽‍♀️', '𝄞'];
/** Pieces of returnTo values: emoji, other multi-byte text, ASCII, and the same percent-encoded. */
const piece = fc.oneof(
  fc.constantFrom(...emoji, 'é', '日本', 'Ω', '\u0301', 'a', '/', 'seg', '?q=', '#f', '&x=1'),
  fc.constantFrom(...emoji, 'é', '日本').map(encodeURIComponent),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 8 }),
);
/** `/` and pieces repeated, cut to the 2048 UTF-16 units (and a URL the gateway accepts) of a real returnTo. */
const returnTo = fc.array(fc.tuple(piece, fc.integer({ min: 1, max: 600 })), { minLength: 1, maxLength: 6 }).map((parts) => {
  let value = '/';
  for (const [text, times] of parts) value += text.repeat(times);
  const units = [...value];
  while (units.join('').length > 2048 || encodeURIComponent(units.join('')).length > 12_000) units.length = Math.floor(units.length * 0.9);
  return units.join('');
});

/** The byte size of each Set-Cookie line. */
const sizes = (setCookies: string[]) => setCookies.map((c) => Buffer.byteLength(c));

/** One raw GET (so that no client limit hides an oversized answer): status, headers and their size in bytes. */
async function rawGet(stack: Stack, target: string, cookie?: string): Promise<{ status: number; headers: Headers; headerBytes: number }> {
  const answer = await rawExchange(Number(new URL(stack.url).port), `GET ${target} HTTP/1.1\r\nHost: localhost\r\n${cookie === undefined ? '' : `Cookie: ${cookie}\r\n`}Connection: close\r\n\r\n`);
  const head = answer.slice(0, answer.indexOf('\r\n\r\n'));
  const headers = new Headers();
  for (const line of head.split('\r\n').slice(1)) {
    const colon = line.indexOf(':');
    headers.append(line.slice(0, colon), line.slice(colon + 1).trim());
  }
  return { status: rawStatus(answer), headers, headerBytes: Buffer.byteLength(head, 'latin1') };
}

describe('transaction cookies stay small', () => {
  let stack: Stack;
  let keys: KeyRing;
  before(async () => {
    stack = await startStack();
    keys = parseKeyRing(stack.keys);
  });
  after(async () => { await stack.close(); });

  const openTxn = (setCookie: string): Transaction | undefined => {
    const json = keys.open(setCookie.slice(setCookie.indexOf('=') + 1, setCookie.indexOf(';')), 'txn');
    return json === undefined ? undefined : JSON.parse(json) as Transaction;
  };

  test('for any returnTo (emoji, long, mixed UTF-8, percent-encoded) every Set-Cookie is at most 4096 bytes and opens to a safe returnTo', async () => {
    await fc.assert(fc.asyncProperty(returnTo, async (input) => {
      const response = await rawGet(stack, `/auth/login?returnTo=${encodeURIComponent(input)}`);
      assert.equal(response.status, 302);
      const setCookies = response.headers.getSetCookie();
      for (const size of sizes(setCookies)) assert.ok(size <= maxCookieBytes, `a ${size}-byte Set-Cookie for a ${input.length}-character returnTo`);
      const txn = openTxn(setCookies.find((c) => c.startsWith('tessera-txn-'))!);
      assert.ok(txn, 'the transaction cookie opens');
      const expected = safeReturnTo(input);
      assert.equal(safeReturnTo(txn.returnTo), txn.returnTo, 'a safe returnTo');
      assert.equal(new URL(txn.returnTo, stack.url).origin, new URL(stack.url).origin);
      assert.ok(txn.returnTo === expected || txn.returnTo === '/', 'the given path, or / when it does not fit');
      if (Buffer.byteLength(expected) <= 1000) assert.equal(txn.returnTo, expected, 'a path of up to 1000 bytes is kept');
    }), { numRuns: 60 });
  });

  test('returnTo values within the budget survive concurrent sign-ins; one beyond it lands on /', async () => {
    const browser = stack.browser();
    const paths = [`/${'p'.repeat(1000)}`, `/${'q'.repeat(1000)}?x=${'y'.repeat(20)}`, `/${'r'.repeat(1000)}`];
    const callbacks = [];
    for (const path of paths) callbacks.push(await loginUntilCallback(stack, browser, 'alice', path));
    assert.ok(Buffer.byteLength(browser.jar.header(`${stack.url}/auth/callback`)) < 8 * 1024);
    for (const [i, callback] of [...callbacks.entries()].reverse()) {
      const page = await browser.navigate(callback.href);
      assert.equal(page.url, `${stack.url}${paths[i]}`);
    }
    for (const tooLong of [`/${'a'.repeat(2000)}`, `/${'😀'.repeat(1000)}`, `/${'日'.repeat(600)}`]) {
      const page = await stack.login(stack.browser(), { returnTo: tooLong });
      assert.equal(page.status, 200);
      assert.equal(page.url, `${stack.url}/`, `${tooLong.length} characters`);
    }
  });

  test('after several logins with huge returnTo values the next request stays far under 16 KB and is not refused with 431', async () => {
    const browser = stack.browser();
    const huge = [`/${'a'.repeat(2040)}`, `/${'😀'.repeat(1000)}`, `/${'b'.repeat(1500)}`, `/${'é'.repeat(2000)}`, `/${'c'.repeat(1023)}`, `/${'d'.repeat(1023)}`, `/${'e'.repeat(1023)}`];
    for (const value of huge) {
      const target = `/auth/login?returnTo=${encodeURIComponent(value)}`;
      const page = await rawGet(stack, target, browser.jar.header(`${stack.url}/auth/login`) || undefined);
      assert.equal(page.status, 302);
      browser.jar.store(`${stack.url}${target}`, page.headers);
      for (const size of sizes(page.headers.getSetCookie())) assert.ok(size <= maxCookieBytes, `${size} bytes`);
    }
    const cookie = browser.jar.header(`${stack.url}/app`);
    assert.ok(browser.jar.names('localhost').filter((n) => n.startsWith('tessera-txn-')).length <= pendingBound);
    assert.ok(Buffer.byteLength(cookie) < 8 * 1024, `a ${Buffer.byteLength(cookie)}-byte Cookie header`);
    // The application's own cookies come on top: one of the largest a browser keeps.
    const response = await rawGet(stack, '/app', `${cookie}; app=${'x'.repeat(4000)}`);
    assert.notEqual(response.status, 431);
    assert.ok([302, 401].includes(response.status), `${response.status}: the usual answer to an anonymous request`);
  });

  test('a request carrying 700 cookies named like transaction cookies gets no clearing headers for them', async () => {
    const cookie = Array.from({ length: 700 }, (_, i) => `tessera-txn-${i}=x`).join('; ');
    const response = await rawGet(stack, '/auth/login?returnTo=/', cookie);
    assert.equal(response.status, 302);
    const setCookies = response.headers.getSetCookie();
    assert.ok(setCookies.length <= pendingBound + 1, `${setCookies.length} Set-Cookie lines`);
    assert.ok(response.headerBytes < 4096, `${response.headerBytes} bytes of response headers`);
  });

  test('a request carrying 400 cookies of the exact transaction-cookie format gets at most the bound of clearing headers', async () => {
    const sealed = () => keys.seal(JSON.stringify(newTransaction('/', false, Date.now() - 1000)), 'txn');
    const cookie = Array.from({ length: 400 }, (_, i) => `tessera-txn-${randomBytes(12).toString('base64url')}=${i % 100 === 0 ? sealed() : 'x'}`).join('; ');
    const response = await rawGet(stack, '/auth/login?returnTo=/', cookie);
    assert.equal(response.status, 302);
    const setCookies = response.headers.getSetCookie();
    assert.ok(setCookies.length <= pendingBound + 1, `${setCookies.length} Set-Cookie lines`);
    assert.ok(response.headerBytes < 8192, `${response.headerBytes} bytes of response headers`);
  });

  test('a new login opens at most the bound of the transaction cookies it is sent, however many there are', () => {
    let opened = 0;
    const counting: KeyRing = { ...keys, open: (value, purpose) => { opened += 1; return keys.open(value, purpose); } };
    const transactions = new TransactionCookies(counting, false);
    const pending = Array.from({ length: 300 }, (_, i) => newTransaction('/', false, Date.now() - i * 1000));
    const header = pending.map((t) => `${transactions.nameFor(t.state)}=${keys.seal(JSON.stringify(t), 'txn')}`).join('; ');
    const setCookies = transactions.begin(newTransaction('/', false), header);
    assert.ok(opened <= pendingBound, `${opened} cookies unsealed`);
    assert.ok(setCookies.length <= pendingBound + 1, `${setCookies.length} Set-Cookie lines`);
  });
});
