/**
 * A fast-check property over request-path spellings through the gateway (issue 11, SECURITY.md
 * "Routes, step-up"): with `/public` public and `/admin` for the admin role, and bob (no admin)
 * signed in, every request is either refused (400, 401, 403, or 302 to login) or reaches the
 * upstream under a path that the rule which admitted it matches — however the upstream reads the
 * path: as sent, percent-decoded with dot segments resolved (node, Express, most servers), or
 * with `;` parameters dropped first (Tomcat, Jetty, Spring — the reading the rule matcher itself
 * claims to follow).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import {
  fixed, isUnder, knownParamSpellings, knownSpellings, nonCanonical, readings, requestPlan, targetOf, type RequestPlan,
} from '../helpers/path-spellings.js';
import { header, rawRequest, type RawAnswer } from '../helpers/raw-http.js';
import { startStack, type Stack, type UpstreamRequest } from '../helpers/stack.js';
import { signIn } from '../security/support.js';

// ---- the property ----------------------------------------------------------------------------

describe('path spellings through the gateway: refused, or upstream under the admitting rule', () => {
  let stack: Stack;
  let bob: string;
  let port: number;

  before(async () => {
    stack = await startStack({ options: { routes: [{ path: '/public', auth: 'none' }, { path: '/admin', roles: ['admin'] }] } });
    bob = `${stack.tessera.cookieName}=${await signIn(stack, stack.browser(), { username: 'bob' })}`;
    port = Number(new URL(stack.url).port);
  });
  after(async () => {
    await stack?.close();
  });

  interface Outcome { target: string; answer: RawAnswer; seen: UpstreamRequest[] }

  async function send(plan: RequestPlan): Promise<Outcome> {
    const target = targetOf(plan);
    const headers: Record<string, string> = plan.api
      ? { accept: 'application/json' }
      : { accept: 'text/html', 'sec-fetch-mode': 'navigate' };
    if (plan.who === 'bob') headers.cookie = bob;
    const before = stack.upstream.requests.length;
    const answer = await rawRequest(port, target, { headers });
    return { target, answer, seen: stack.upstream.requests.slice(before) };
  }

  /**
   * Refused (nothing upstream) or proxied once; when proxied, under the readings `names` the path
   * lies under the admitting rule: `/public` when no identity was sent (only the public rule lets
   * a request through without one), and never under `/admin` (bob has no admin role).
   */
  function check({ target, answer, seen }: Outcome, names: ReadonlyArray<keyof typeof readings>): void {
    const what = `${JSON.stringify(target)} → ${answer.status}${seen[0] ? ` upstream ${JSON.stringify(seen[0].url)}` : ''}`;
    if (answer.status !== 200) {
      assert.ok([302, 400, 401, 403].includes(answer.status), `refused with an expected status: ${what}`);
      if (answer.status === 302) assert.match(header(answer, 'location') ?? '', /^\/auth\/login\?/, `a redirect goes to login: ${what}`);
      assert.equal(seen.length, 0, `a refused request reaches nothing: ${what}`);
      return;
    }
    assert.equal(seen.length, 1, `proxied once: ${what}`);
    const received = seen[0]!;
    const path = received.url.split('?')[0]!;
    const sub = received.headers['x-tessera-sub'];
    assert.ok(sub === undefined || sub === 'bob', `only bob's identity: ${what}`);
    const problem = nonCanonical(path);
    assert.equal(problem, undefined, `the upstream receives a canonical path, not one with ${problem}: ${what}`);
    for (const name of names) {
      const read = readings[name](path);
      assert.ok(!isUnder(read, '/admin'), `bob reaches /admin (path read ${name}: ${JSON.stringify(read)}): ${what}`);
      if (sub === undefined) assert.ok(isUnder(read, '/public'), `admitted by the public rule but outside /public (read ${name}: ${JSON.stringify(read)}): ${what}`);
    }
  }

  test('known attack spellings (no ";")', async () => {
    for (const target of knownSpellings) {
      for (const who of ['bob', 'anonymous'] as const) check(await send(fixed(target, who)), ['raw', 'decoded', 'parameters']);
    }
  });

  test('property: dot segments, escapes, slashes, backslashes, case, tabs — as sent and as a decoding server reads it', async () => {
    await fc.assert(fc.asyncProperty(requestPlan({ params: false, caseVariants: true }), async (plan) => {
      check(await send(plan), ['raw', 'decoded', 'parameters']);
    }), { numRuns: 1000, examples: knownSpellings.map((t) => [fixed(t)]) });
  });

  test('property: with ";" parameters, as sent and as a decoding server (node, Express) reads it', async () => {
    await fc.assert(fc.asyncProperty(requestPlan({ params: true, caseVariants: true }), async (plan) => {
      check(await send(plan), ['raw', 'decoded']);
    }), { numRuns: 250, examples: knownParamSpellings.map((t) => [fixed(t)]) });
  });

  test('property: with ";" parameters, as a server that drops them reads it (Tomcat, Jetty, Spring)', async () => {
    await fc.assert(fc.asyncProperty(requestPlan({ params: true, caseVariants: true }), async (plan) => {
      check(await send(plan), ['parameters']);
    }), { numRuns: 250, examples: knownParamSpellings.map((t) => [fixed(t)]) });
  });

  test('the public rule admits dot-segment and escape spellings of /public paths, under /public', async () => {
    // Not only refusals: a spelling that means /public/... is admitted, and arrives canonical.
    for (const [target, expected] of [
      ['/public/%2e/a', '/public/a'], ['/admin/../public/a', '/public/a'], ['/admin/%2E%2E/public', '/public'],
      ['/x/..//public//b/.', '/public/b/'], ['/%70%75%62%6C%69%63/c', '/public/c'],
    ] as const) {
      const outcome = await send(fixed(target, 'anonymous'));
      assert.equal(outcome.answer.status, 200, target);
      assert.equal(outcome.seen[0]?.url, expected, target);
      assert.equal(outcome.seen[0]?.headers['x-tessera-sub'], undefined);
    }
  });
});
