/**
 * SECURITY.md, "Gateway": identity headers. What the upstream receives, header by header (raw,
 * as sent on the wire): no client header whose name — lower-cased, `_` read as `-` — starts with
 * `x-tessera-` crosses the gateway, however it is cased, spelled or repeated; names with `_` are
 * dropped unless `allowUnderscoreHeaders`; a CGI-style merge of what the upstream gets still
 * gives one value per identity header, Tessera's own; and a client `Connection` header cannot
 * make the gateway drop the headers it sets itself.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import * as fc from 'fast-check';
import { cgiMerge, cgiName, rawExchange, rawStatus, startRecordingUpstream, useSignedInStack } from './support.js';

const RUNS = 40;

/** The identity headers among them (CGI-merged), as `name → values`. */
function identityOf(headers: Array<[string, string]>): Record<string, string[]> {
  return Object.fromEntries([...cgiMerge(headers)].filter(([name]) => name.startsWith('x-tessera-')).sort(([a], [b]) => a.localeCompare(b)));
}

/** `x-tessera-<suffix>` with each letter's case and each `-`/`_` chosen by fast-check. */
const identitySpelling = fc.constantFrom('sub', 'roles', 'tid', 'session', 'acr', 'amr', 'anything', 'sub-extra')
  .chain((suffix) => {
    const name = `x-tessera-${suffix}`;
    return fc.array(fc.tuple(fc.boolean(), fc.boolean()), { minLength: name.length, maxLength: name.length })
      .map((choices) => [...name].map((c, i) => {
        const [upper, underscore] = choices[i]!;
        if (c === '-') return underscore ? '_' : '-';
        return upper ? c.toUpperCase() : c;
      }).join(''));
  });

/** A forged value: another user, more roles, a stronger login, with tabs and spaces around it. */
const forgedValue = fc.tuple(
  fc.constantFrom('alice', 'admin', 'admin,user', 'mfa', 'pwd,mfa,otp', 'forged-session-ref', 'other-tenant'),
  fc.constantFrom('', ' ', '\t', ' \t'),
  fc.constantFrom('', ' ', '\t'),
).map(([value, lead, trail]) => `${lead}${value}${trail}`);

/** Forged identity lines (1–6, names may repeat) at random places around the session cookie. */
const forgedRequest = fc.record({
  lines: fc.array(fc.tuple(identitySpelling, forgedValue), { minLength: 1, maxLength: 6 }),
  cookieAt: fc.nat({ max: 6 }),
});

const forgedWords = ['alice', 'admin', 'mfa', 'otp', 'forged-session-ref', 'other-tenant'];

describe('identity headers', () => {
  /** The gateway under test in front of a recording upstream, signed in as bob (`gw.id`). */
  const gw = useSignedInStack({ upstream: startRecordingUpstream, username: 'bob' });
  /** Tessera's identity headers for bob's session, from a request that forges nothing. */
  let expected: Record<string, string[]>;

  before(async () => {
    const answer = await send(gw.port, [`Cookie: tessera=${gw.id}`]);
    assert.equal(rawStatus(answer), 200);
    expected = identityOf(gw.upstream.received.at(-1)!.headers);
  });

  /** A raw GET through the gateway; returns the answer. Fails when the upstream was not reached exactly once. */
  async function send(gatewayPort: number, lines: string[], path = '/whoami'): Promise<string> {
    const seen = gw.upstream.received.length;
    const answer = await rawExchange(gatewayPort, [`GET ${path} HTTP/1.1`, `Host: localhost:${gatewayPort}`, ...lines, 'Connection: close', '', ''].join('\r\n'));
    assert.equal(gw.upstream.received.length, seen + 1, `the upstream was reached once (answer: ${answer.slice(0, 80)})`);
    return answer;
  }

  const lastReceived = () => gw.upstream.received.at(-1)!.headers;

  test("bob's session gives the upstream exactly Tessera's identity headers: sub bob, roles user, acr pwd, amr with pwd", () => {
    assert.deepEqual(expected['x-tessera-sub'], ['bob']);
    assert.deepEqual(expected['x-tessera-roles'], ['user']);
    assert.equal(expected['x-tessera-session']?.length, 1);
    assert.match(expected['x-tessera-session']![0]!, /^[A-Za-z0-9_-]{22}$/);
    assert.deepEqual(expected['x-tessera-acr'], ['pwd'], 'X-Tessera-Acr is the acr of the password login');
    assert.equal(expected['x-tessera-amr']?.length, 1, 'one X-Tessera-Amr header');
    const amr = expected['x-tessera-amr']![0]!;
    assert.match(amr, /^[^,\s]+(,[^,\s]+)*$/, `X-Tessera-Amr is comma-separated without spaces: ${amr}`);
    assert.ok(amr.split(',').includes('pwd'), `X-Tessera-Amr holds pwd: ${amr}`);
  });

  test('the classic spellings (X_Tessera_Sub, X_Tessera_Roles, x-tessera_sub, X-TESSERA-SUB, repeated lines) never reach the upstream', async () => {
    const answer = await send(gw.port, [
      'X_Tessera_Sub: alice', 'X_Tessera_Roles: admin', 'x-tessera_sub: alice', 'X-TESSERA-SUB: alice', 'X-Tessera-Sub: alice',
      'X-Tessera-Sub: alice', `Cookie: tessera=${gw.id}`, 'x_tessera_roles: admin', 'X-Tessera-Roles: admin,user',
      'X-Tessera-Acr: mfa', 'X_TESSERA_AMR: mfa,otp', 'X-Tessera_Session: forged-session-ref', 'x-TESSERA-tid: other-tenant',
    ]);
    assert.equal(rawStatus(answer), 200);
    const headers = lastReceived();
    assert.deepEqual(identityOf(headers), expected);
    for (const [name, value] of headers) {
      assert.ok(!name.includes('_'), `a header name with "_" reached the upstream: ${name}`);
      for (const word of forgedWords) assert.ok(!value.split(/[\s,]+/).includes(word), `forged value reached the upstream: ${name}: ${value}`);
    }
  });

  test('fast-check: no casing, `_`/`-` mix, repetition or padding of X-Tessera-* gets a client value upstream', async () => {
    await fc.assert(fc.asyncProperty(forgedRequest, async ({ lines, cookieAt }) => {
      const forged = lines.map(([name, value]) => `${name}: ${value}`);
      forged.splice(Math.min(cookieAt, forged.length), 0, `Cookie: tessera=${gw.id}`);
      const answer = await send(gw.port, forged);
      assert.equal(rawStatus(answer), 200);
      const headers = lastReceived();
      // Read as a CGI server reads them: exactly Tessera's identity headers, one value each.
      assert.deepEqual(identityOf(headers), expected);
      for (const [name] of headers) assert.ok(!name.includes('_'), `a header name with "_" reached the upstream: ${name}`);
    }), { numRuns: RUNS });
  });

  test('a CGI-style merge of everything the upstream receives gives one value per identity header, Tessera\'s', async () => {
    const answer = await send(gw.port, [
      `Cookie: tessera=${gw.id}`, 'X_Tessera_Sub: alice', 'X-Tessera-Sub: alice', 'x_tessera-roles: admin', 'X-Tessera-Acr: mfa', 'X-Tessera-Amr: mfa',
    ]);
    assert.equal(rawStatus(answer), 200);
    const merged = cgiMerge(lastReceived());
    for (const name of ['x-tessera-sub', 'x-tessera-roles', 'x-tessera-session', 'x-tessera-acr', 'x-tessera-amr']) {
      assert.deepEqual(merged.get(name), expected[name], `${name} after the merge`);
    }
    assert.deepEqual(merged.get('x-tessera-sub'), ['bob']);
    assert.deepEqual(merged.get('x-tessera-roles'), ['user']);
  });

  test('header names with "_" are dropped altogether by default', async () => {
    const answer = await send(gw.port, [`Cookie: tessera=${gw.id}`, 'My_Header: hello', 'X-Fine: kept', 'Accept_Language: xx', 'user_agent: fake']);
    assert.equal(rawStatus(answer), 200);
    const headers = lastReceived();
    assert.deepEqual(headers.filter(([name]) => name.includes('_')), []);
    assert.ok(!headers.some(([, value]) => value === 'hello' || value === 'xx' || value === 'fake'));
    assert.ok(headers.some(([name, value]) => name.toLowerCase() === 'x-fine' && value === 'kept'), 'ordinary headers still pass');
  });

  test('a client Connection header naming gateway-set headers does not make the gateway drop them', async () => {
    const named = ['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-tessera-sub', 'x-tessera-roles', 'x-tessera-session', 'x-tessera-acr', 'x-tessera-amr', 'X-Forwarded-For', 'X-TESSERA-SUB'];
    const tokens = fc.subarray(named, { minLength: 1 });
    await fc.assert(fc.asyncProperty(tokens, fc.integer({ min: 1, max: 3 }), async (list, lines) => {
      // The tokens spread over one to three Connection lines.
      const connection: string[] = [];
      for (let i = 0; i < lines; i++) {
        const part = list.filter((_, j) => j % lines === i);
        if (part.length > 0) connection.push(`Connection: ${part.join(', ')}`);
      }
      const answer = await send(gw.port, [`Cookie: tessera=${gw.id}`, ...connection]);
      assert.equal(rawStatus(answer), 200);
      const merged = cgiMerge(lastReceived());
      assert.deepEqual(identityOf(lastReceived()), expected, `identity headers with ${connection.join(' | ')}`);
      assert.deepEqual(merged.get('x-forwarded-for'), ['127.0.0.1'], `X-Forwarded-For with ${connection.join(' | ')}`);
      assert.deepEqual(merged.get('x-forwarded-proto'), ['http'], `X-Forwarded-Proto with ${connection.join(' | ')}`);
      assert.deepEqual(merged.get('x-forwarded-host'), [new URL(gw.stack.url).host], `X-Forwarded-Host with ${connection.join(' | ')}`);
    }), { numRuns: 20 });
  });

  describe('with allowUnderscoreHeaders', () => {
    /** A second gateway with allowUnderscoreHeaders, same IdP and upstream, signed in as bob (`open.id`). */
    const open = useSignedInStack({ stack: () => ({ idp: gw.stack.idp, options: { upstream: gw.upstream.url, allowUnderscoreHeaders: true } }), username: 'bob' });

    test('a benign My_Header passes', async () => {
      const answer = await send(open.port, [`Cookie: tessera=${open.id}`, 'My_Header: hello']);
      assert.equal(rawStatus(answer), 200);
      assert.deepEqual(lastReceived().filter(([name]) => cgiName(name) === 'my-header').map(([name, value]) => [name.toLowerCase(), value]), [['my_header', 'hello']]);
    });

    // Beyond identity: a CGI-style upstream reads these as the framing and hop-by-hop headers the gateway itself answers.
    test('underscore spellings of framing and hop-by-hop headers (Transfer_Encoding, Content_Length, …) are still dropped', async () => {
      const answer = await send(open.port, [
        `Cookie: tessera=${open.id}`, 'Transfer_Encoding: chunked', 'Content_Length: 5', 'Proxy_Authorization: Basic eA==', 'Keep_Alive: 1', 'Proxy_Connection: keep-alive',
      ]);
      assert.equal(rawStatus(answer), 200);
      const names = lastReceived().map(([name]) => cgiName(name));
      for (const name of ['transfer-encoding', 'content-length', 'proxy-authorization', 'keep-alive', 'proxy-connection']) {
        assert.ok(!names.includes(name), `${name} (sent with "_") reached the upstream: ${JSON.stringify(lastReceived())}`);
      }
    });

    test('fast-check: identity spellings are still dropped', async () => {
      await fc.assert(fc.asyncProperty(forgedRequest, async ({ lines, cookieAt }) => {
        const forged = lines.map(([name, value]) => `${name}: ${value}`);
        forged.splice(Math.min(cookieAt, forged.length), 0, `Cookie: tessera=${open.id}`);
        const answer = await send(open.port, forged);
        assert.equal(rawStatus(answer), 200);
        const identity = identityOf(lastReceived());
        assert.deepEqual(identity['x-tessera-sub'], ['bob']);
        assert.deepEqual(identity['x-tessera-roles'], ['user']);
        assert.deepEqual(Object.keys(identity), Object.keys(expected), 'no other X-Tessera-* header');
        for (const values of Object.values(identity)) assert.equal(values.length, 1);
        for (const [name, value] of lastReceived()) {
          for (const word of forgedWords) assert.ok(!value.split(/[\s,]+/).includes(word), `forged value reached the upstream: ${name}: ${value}`);
        }
      }), { numRuns: RUNS });
    });
  });
});
