import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { startStack, type Stack } from '../helpers/stack.js';
import { endSessions, listSessions, sessionStatusAt, signInOn } from './support.js';

const phone = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148 Safari/604.1';
const laptop = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0 Safari/537.36';

describe('a user sees and ends their own sessions (SQLite)', () => {
  let stack: Stack;
  before(async () => { stack = await startStack(); });
  afterEach(async () => {
    await stack.tessera.sessions.revokeAll('alice');
    await stack.tessera.sessions.revokeAll('bob');
  });
  after(async () => { await stack.close(); });

  test('GET /auth/sessions lists both sessions of a user with two browsers, the calling one marked current', async () => {
    const a = await signInOn(stack, 'alice', phone);
    const b = await signInOn(stack, 'alice', laptop);
    await signInOn(stack, 'bob', laptop);
    const before = Date.now();
    const { status, sessions } = await listSessions(stack.url, a.cookie);
    assert.equal(status, 200);
    assert.equal(sessions.length, 2, 'only alice\'s two sessions, not bob\'s');
    for (const s of sessions) {
      assert.deepEqual(Object.keys(s).sort(), ['absoluteExpiresAt', 'acr', 'amr', 'createdAt', 'current', 'idleExpiresAt', 'lastSeenAt', 'ref', 'userAgent']);
      for (const time of [s.createdAt, s.lastSeenAt, s.idleExpiresAt, s.absoluteExpiresAt]) assert.match(time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      assert.ok(Date.parse(s.createdAt) <= before && Date.parse(s.idleExpiresAt) > before && Date.parse(s.absoluteExpiresAt) >= Date.parse(s.idleExpiresAt));
      assert.match(s.ref, /^[A-Za-z0-9_-]{16,64}$/);
      assert.equal(s.acr, 'pwd');
      assert.ok(s.amr.includes('pwd'));
    }
    assert.deepEqual(sessions.map((s) => [s.userAgent, s.current]), [[phone, true], [laptop, false]], 'oldest first, the caller current');
    const fromB = await listSessions(stack.url, b.cookie);
    assert.deepEqual(fromB.sessions.map((s) => s.current), [false, true], 'the other browser sees itself as current');
  });

  test('the user agent shown is the one seen at sign-in, cut to 200 characters and free of control characters', async () => {
    const long = `Agent\t/${'x'.repeat(400)}`;
    const a = await signInOn(stack, 'alice', long);
    const { sessions } = await listSessions(stack.url, a.cookie);
    assert.equal(sessions[0]?.userAgent, `Agent/${'x'.repeat(400)}`.slice(0, 200));
  });

  test('DELETE /auth/sessions/<ref> ends the other session at once (204), the caller stays signed in', async () => {
    const a = await signInOn(stack, 'alice', phone);
    const b = await signInOn(stack, 'alice', laptop);
    const other = (await listSessions(stack.url, a.cookie)).sessions.find((s) => !s.current)!;
    const response = await endSessions(stack.url, a.cookie, other.ref);
    assert.equal(response.status, 204);
    assert.deepEqual(response.headers.getSetCookie(), [], 'the caller\'s cookie is left alone');
    assert.equal(await sessionStatusAt(stack.url, b.cookie), 401, 'the ended session answers 401');
    const page = await b.browser.request(`${stack.url}/home`);
    assert.equal(page.status, 302, 'a page of the ended session goes to sign-in');
    assert.match(page.headers.get('location') ?? '', /^\/auth\/login\?/);
    assert.equal(await sessionStatusAt(stack.url, a.cookie), 200);
    assert.deepEqual((await listSessions(stack.url, a.cookie)).sessions.map((s) => s.current), [true]);
    assert.equal((await endSessions(stack.url, a.cookie, other.ref)).status, 404, 'a second DELETE finds nothing');
  });

  test('DELETE /auth/sessions/<ref> of the current session ends it and clears the cookie', async () => {
    const a = await signInOn(stack, 'alice', phone);
    const mine = (await listSessions(stack.url, a.cookie)).sessions[0]!;
    const response = await endSessions(stack.url, a.cookie, mine.ref);
    assert.equal(response.status, 204);
    assert.match(response.headers.getSetCookie()[0] ?? '', /^tessera=; .*Max-Age=0/);
    assert.equal(await sessionStatusAt(stack.url, a.cookie), 401);
  });

  test('a ref of another user\'s session is 404 and that session lives on', async () => {
    const a = await signInOn(stack, 'alice', phone);
    const bob = await signInOn(stack, 'bob', laptop);
    const bobRef = (await listSessions(stack.url, bob.cookie)).sessions[0]!.ref;
    const response = await fetch(`${stack.url}/auth/sessions/${bobRef}`, { method: 'DELETE', headers: { cookie: a.cookie, origin: stack.url, accept: 'application/json' } });
    assert.equal(response.status, 404);
    assert.deepEqual(await response.json(), { error: 'not_found', error_description: 'no session of yours has this ref' });
    assert.equal(await sessionStatusAt(stack.url, bob.cookie), 200);
    assert.equal(await sessionStatusAt(stack.url, a.cookie), 200);
  });

  test('a cross-origin DELETE is refused with 403 and ends nothing; Sec-Fetch-Site: same-origin is enough', async () => {
    const a = await signInOn(stack, 'alice', phone);
    const b = await signInOn(stack, 'alice', laptop);
    const other = (await listSessions(stack.url, a.cookie)).sessions.find((s) => !s.current)!;
    const refused: Array<Record<string, string>> = [
      { origin: 'https://evil.example' },
      { origin: stack.url.replace('localhost', '127.0.0.1') },
      { origin: 'null' },
      { 'sec-fetch-site': 'cross-site' },
      { 'sec-fetch-site': 'same-site' },
      { origin: 'https://evil.example', 'sec-fetch-site': 'same-origin' },
      {},
    ];
    for (const headers of refused) {
      assert.equal((await endSessions(stack.url, a.cookie, other.ref, headers)).status, 403, JSON.stringify(headers));
      assert.equal((await endSessions(stack.url, a.cookie, undefined, headers)).status, 403, `all, ${JSON.stringify(headers)}`);
    }
    assert.equal(await sessionStatusAt(stack.url, b.cookie), 200, 'nothing ended');
    assert.equal(await sessionStatusAt(stack.url, a.cookie), 200);
    assert.equal((await endSessions(stack.url, a.cookie, other.ref, { 'sec-fetch-site': 'same-origin' })).status, 204);
    assert.equal(await sessionStatusAt(stack.url, b.cookie), 401);
  });

  test('sign out everywhere: DELETE /auth/sessions ends every session of the user, the current one included', async () => {
    const a = await signInOn(stack, 'alice', phone);
    const b = await signInOn(stack, 'alice', laptop);
    const bob = await signInOn(stack, 'bob', laptop);
    const response = await endSessions(stack.url, a.cookie);
    assert.equal(response.status, 204);
    assert.match(response.headers.getSetCookie()[0] ?? '', /^tessera=; .*Max-Age=0/, 'the cookie is cleared');
    assert.equal(await sessionStatusAt(stack.url, a.cookie), 401);
    assert.equal(await sessionStatusAt(stack.url, b.cookie), 401);
    assert.equal(await sessionStatusAt(stack.url, bob.cookie), 200, 'another user is not touched');
  });

  test('without a session: GET and DELETE answer 401; other methods 405', async () => {
    assert.equal((await listSessions(stack.url, undefined)).status, 401);
    assert.equal((await endSessions(stack.url, undefined)).status, 401);
    assert.equal((await endSessions(stack.url, 'tessera=' + 'A'.repeat(43), 'abc')).status, 401);
    const post = await fetch(`${stack.url}/auth/sessions`, { method: 'POST', headers: { origin: stack.url } });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET, DELETE');
  });

  test('the library: listFor, revokeFor and revokeAllFor reach only the signed-in user\'s own sessions', async () => {
    const a = await signInOn(stack, 'alice', phone);
    const b = await signInOn(stack, 'alice', laptop);
    const bob = await signInOn(stack, 'bob', laptop);
    const result = await stack.tessera.authenticate(a.cookie);
    assert.ok(result.authenticated);
    const listed = await stack.tessera.sessions.listFor(result.session);
    assert.deepEqual(listed.map((s) => [s.userAgent, s.current]), [[phone, true], [laptop, false]]);
    const bobSession = await stack.tessera.authenticate(bob.cookie);
    assert.ok(bobSession.authenticated);
    assert.equal(await stack.tessera.sessions.revokeFor(result.session, bobSession.session.ref), false, 'another user\'s ref is not found');
    assert.equal(await sessionStatusAt(stack.url, bob.cookie), 200);
    assert.equal(await stack.tessera.sessions.revokeFor(result.session, listed[1]!.ref), true);
    assert.equal(await sessionStatusAt(stack.url, b.cookie), 401);
    assert.equal(await stack.tessera.sessions.revokeAllFor(result.session), 1);
    assert.equal(await sessionStatusAt(stack.url, a.cookie), 401);
  });

  test('property: DELETE /auth/sessions/<mutated ref> never ends a session that is not the caller\'s, and never answers 5xx', async () => {
    const a = await signInOn(stack, 'alice', phone);
    const b = await signInOn(stack, 'alice', laptop);
    const bob = await signInOn(stack, 'bob', laptop);
    const mine = (await listSessions(stack.url, a.cookie)).sessions.map((s) => s.ref);
    const bobRef = (await listSessions(stack.url, bob.cookie)).sessions[0]!.ref;
    const encodeAll = (s: string) => [...s].map((c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`).join('');
    const flipCase = (s: string) => [...s].map((c) => (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase())).join('');
    const mutation = fc.oneof(
      fc.constant(bobRef),
      fc.constantFrom(encodeAll(bobRef), encodeAll(bobRef).toLowerCase(), flipCase(bobRef), `${bobRef}/`, `${bobRef}%2F`, `${bobRef}/..`, `../${bobRef}`,
        `${bobRef};`, ` ${bobRef}`, `${bobRef}%00`, `${bobRef}\t`, `${bobRef.slice(0, -1)}`, `${bobRef}A`, `..%2F${bobRef}`, '%2e%2e', '', '/', '..'),
      fc.tuple(fc.nat({ max: bobRef.length - 1 }), fc.constantFrom('%', '%25', '/', '\\', '.', '%2e', '%41', 'Ā', '\u0000', '~', '*', "'")).map(([at, insert]) => bobRef.slice(0, at) + insert + bobRef.slice(at)),
      fc.string({ maxLength: 80 }).map((s) => encodeURIComponent(s)),
      fc.stringMatching(/^[A-Za-z0-9_-]{1,70}$/),
    );
    await fc.assert(fc.asyncProperty(mutation, async (ref) => {
      fc.pre(!mine.includes(ref));
      let status: number;
      try {
        const response = await fetch(`${stack.url}/auth/sessions/${ref}`, { method: 'DELETE', headers: { cookie: a.cookie, origin: stack.url, accept: 'application/json' } });
        await response.body?.cancel();
        status = response.status;
      } catch {
        return; // a URL fetch itself refuses never reached the gateway
      }
      assert.ok(status >= 400 && status < 500, `DELETE ${ref} answered ${status}`);
      assert.equal(await sessionStatusAt(stack.url, bob.cookie), 200, `bob's session survives DELETE ${JSON.stringify(ref)}`);
      assert.equal(await sessionStatusAt(stack.url, b.cookie), 200, `alice's other session survives DELETE ${JSON.stringify(ref)}`);
    }), { numRuns: 150 });
  });
});
