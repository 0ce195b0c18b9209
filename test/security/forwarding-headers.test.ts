/**
 * SECURITY.md, "Gateway": `Forwarded`, `X-Forwarded-*` and `X-Real-IP` are trusted only from
 * `TESSERA_TRUSTED_PROXIES`, and `X-Forwarded-Host` is never the client's `Host`. Asserted on
 * what the upstream receives, header by header (raw, and merged as a CGI-style server reads them).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as fc from 'fast-check';
import { loadConfig, resolveConfig } from '../../src/config/index.js';
import { createTessera } from '../../src/tessera.js';
import { runCli } from '../helpers/cli.js';
import { baseEnv, problems, serveEnv } from '../helpers/config.js';
import { cgiMerge, minimalOptions, rawExchange, rawStatus, startRecordingUpstream, startSignedInStack, useSignedInStack } from './support.js';

const forwardingNames = ['forwarded', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-port', 'x-real-ip', 'x-forwarded-server', 'x-forwarded-prefix'];

/** A forwarding header name with each letter's case and each `-`/`_` chosen by fast-check. */
const forwardingSpelling = fc.constantFrom(...forwardingNames).chain((name) =>
  fc.array(fc.tuple(fc.boolean(), fc.boolean()), { minLength: name.length, maxLength: name.length }).map((choices) => [...name].map((c, i) => {
    const [upper, underscore] = choices[i]!;
    if (c === '-') return underscore ? '_' : '-';
    return upper ? c.toUpperCase() : c;
  }).join('')));

/** What a client claims about itself, with padding. */
const forgedValue = fc.tuple(
  fc.constantFrom('6.6.6.6', '6.6.6.6, 10.0.0.1', 'https', 'evil.example', 'evil.example:8443', '8443', 'for=6.6.6.6;proto=https;host=evil.example', '10.6.6.6'),
  fc.constantFrom('', ' ', '\t'),
).map(([value, pad]) => `${pad}${value}${pad}`);

const forgedWords = /6\.6\.6\.6|10\.6\.6\.6|evil\.example|8443|https/;

describe('forwarding headers', () => {
  /** The gateway under test (no trustedProxies) in front of a recording upstream, signed in as alice. */
  const gw = useSignedInStack({ upstream: startRecordingUpstream });

  /** A raw GET through a gateway; the headers the upstream received for it. */
  async function through(gatewayPort: number, lines: string[], from = '127.0.0.1'): Promise<Array<[string, string]>> {
    const { received } = gw.upstream;
    const seen = received.length;
    const answer = await rawExchange(gatewayPort, ['GET /where HTTP/1.1', ...lines, 'Connection: close', '', ''].join('\r\n'), 3000, from);
    assert.equal(rawStatus(answer), 200, answer.slice(0, 200));
    assert.equal(received.length, seen + 1, 'the upstream was reached once');
    return received.at(-1)!.headers;
  }

  /** The gateway's own forwarding headers and nothing the client sent. */
  function assertOwnForwarding(headers: Array<[string, string]>, publicHost: string, peer = '127.0.0.1'): void {
    const merged = cgiMerge(headers);
    assert.deepEqual(merged.get('x-forwarded-for'), [peer], 'X-Forwarded-For is the peer address alone');
    assert.deepEqual(merged.get('x-forwarded-proto'), ['http'], 'X-Forwarded-Proto from the public URL');
    assert.deepEqual(merged.get('x-forwarded-host'), [publicHost], 'X-Forwarded-Host from the public URL');
    for (const name of ['forwarded', 'x-real-ip', 'x-forwarded-port', 'x-forwarded-server', 'x-forwarded-prefix']) {
      assert.equal(merged.get(name), undefined, `${name} reached the upstream: ${merged.get(name)?.join(' | ')}`);
    }
    for (const [name, value] of headers) assert.doesNotMatch(value, forgedWords, `a client claim reached the upstream: ${name}: ${value}`);
  }

  describe('from a peer outside trustedProxies (default: none)', () => {
    test('client Forwarded, X-Forwarded-*, X-Real-IP and Host: evil.example are not what the upstream sees', async () => {
      const headers = await through(gw.port, [
        'Host: evil.example', `Cookie: tessera=${gw.id}`,
        'Forwarded: for=6.6.6.6;proto=https;host=evil.example', 'X-Forwarded-For: 6.6.6.6', 'X-Forwarded-For: 10.6.6.6',
        'X-Forwarded-Proto: https', 'X-Forwarded-Host: evil.example', 'X-Forwarded-Port: 8443', 'X-Real-IP: 6.6.6.6',
        'X_Forwarded_For: 6.6.6.6', 'x-forwarded_host: evil.example', 'X-REAL_IP: 6.6.6.6', 'X_FORWARDED_PROTO: https',
      ]);
      assertOwnForwarding(headers, new URL(gw.stack.url).host);
    });

    test('fast-check: no casing, `_`/`-` mix, repetition, padding or position of forwarding headers gets a client claim upstream', async () => {
      const request = fc.record({
        lines: fc.array(fc.tuple(forwardingSpelling, forgedValue), { minLength: 1, maxLength: 6 }),
        host: fc.constantFrom('evil.example', 'evil.example:8443', `localhost:${gw.port}`, '6.6.6.6'),
        cookieAt: fc.nat({ max: 6 }),
      });
      await fc.assert(fc.asyncProperty(request, async ({ lines, host, cookieAt }) => {
        const forged = lines.map(([name, value]) => `${name}: ${value}`);
        forged.splice(Math.min(cookieAt, forged.length), 0, `Cookie: tessera=${gw.id}`);
        assertOwnForwarding(await through(gw.port, [`Host: ${host}`, ...forged]), new URL(gw.stack.url).host);
      }), { numRuns: 40 });
    });

    test('a trustedProxies list that does not hold the peer changes nothing', async () => {
      const other = await startSignedInStack({ idp: gw.stack.idp, options: { upstream: gw.upstream.url, trustedProxies: ['10.0.0.0/8', '::1/128', '127.0.0.2'] } });
      try {
        const headers = await through(other.port, [
          'Host: evil.example', `Cookie: tessera=${other.id}`, 'X-Forwarded-For: 6.6.6.6', 'X-Forwarded-Proto: https', 'X-Forwarded-Host: evil.example', 'X-Real-IP: 6.6.6.6', 'Forwarded: for=6.6.6.6',
        ]);
        assertOwnForwarding(headers, new URL(other.stack.url).host);
      } finally {
        await other.stack.close();
      }
    });

    test('with allowUnderscoreHeaders, underscore spellings of forwarding headers are still dropped', async () => {
      const open = await startSignedInStack({ idp: gw.stack.idp, options: { upstream: gw.upstream.url, allowUnderscoreHeaders: true } });
      try {
        const headers = await through(open.port, [
          'Host: evil.example', `Cookie: tessera=${open.id}`, 'X_Forwarded_For: 6.6.6.6', 'x_forwarded_proto: https', 'X-Forwarded_Host: evil.example',
          'X_Real_IP: 6.6.6.6', 'X_FORWARDED_PORT: 8443', 'My_Header: kept',
        ]);
        assertOwnForwarding(headers, new URL(open.stack.url).host);
        assert.deepEqual(cgiMerge(headers).get('my-header'), ['kept'], 'a benign underscore header still passes');
      } finally {
        await open.stack.close();
      }
    });
  });

  describe('from a trusted proxy (trustedProxies: 127.0.0.1/32)', () => {
    const trusted = useSignedInStack({ stack: () => ({ idp: gw.stack.idp, options: { upstream: gw.upstream.url, trustedProxies: ['127.0.0.1/32'] } }) });

    test('the X-Forwarded-For chain is kept and the peer appended: 203.0.113.7, 127.0.0.1', async () => {
      const merged = cgiMerge(await through(trusted.port, [`Host: localhost:${trusted.port}`, `Cookie: tessera=${trusted.id}`, 'X-Forwarded-For: 203.0.113.7']));
      assert.deepEqual(merged.get('x-forwarded-for'), ['203.0.113.7, 127.0.0.1']);
    });

    test('several X-Forwarded-For lines make one chain, in order, ending in the peer', async () => {
      const merged = cgiMerge(await through(trusted.port, ['Host: internal.example', `Cookie: tessera=${trusted.id}`, 'X-Forwarded-For: 203.0.113.7', 'X-Forwarded-For: 10.0.0.1']));
      assert.deepEqual(merged.get('x-forwarded-for'), ['203.0.113.7, 10.0.0.1, 127.0.0.1']);
    });

    test("the trusted proxy's X-Forwarded-Proto and X-Forwarded-Host are kept, once each", async () => {
      const merged = cgiMerge(await through(trusted.port, [
        'Host: internal.example', `Cookie: tessera=${trusted.id}`, 'X-Forwarded-For: 203.0.113.7', 'X-Forwarded-Proto: https', 'X-Forwarded-Host: app.example',
      ]));
      assert.deepEqual(merged.get('x-forwarded-proto'), ['https']);
      assert.deepEqual(merged.get('x-forwarded-host'), ['app.example']);
    });

    test('a trusted proxy that sends no X-Forwarded-Proto/Host gets the public URL, never its Host', async () => {
      const merged = cgiMerge(await through(trusted.port, ['Host: evil.example', `Cookie: tessera=${trusted.id}`, 'X-Forwarded-For: 203.0.113.7']));
      assert.deepEqual(merged.get('x-forwarded-proto'), ['http']);
      assert.deepEqual(merged.get('x-forwarded-host'), [new URL(trusted.stack.url).host]);
    });

    test('a Connection header naming X-Forwarded-Proto/Host still leaves the upstream exactly one of each', async () => {
      const merged = cgiMerge(await through(trusted.port, [
        'Host: internal.example', `Cookie: tessera=${trusted.id}`, 'X-Forwarded-Proto: https', 'X-Forwarded-Host: app.example', 'Connection: x-forwarded-proto, x-forwarded-host, x-forwarded-for',
      ]));
      assert.equal(merged.get('x-forwarded-proto')?.length, 1, `X-Forwarded-Proto: ${merged.get('x-forwarded-proto')?.join(' | ')}`);
      assert.equal(merged.get('x-forwarded-host')?.length, 1, `X-Forwarded-Host: ${merged.get('x-forwarded-host')?.join(' | ')}`);
      assert.deepEqual(merged.get('x-forwarded-for'), ['127.0.0.1']);
    });

    test('the same headers from another address (127.0.0.2, not in the list) are dropped', async () => {
      const headers = await through(trusted.port, [
        'Host: evil.example', `Cookie: tessera=${trusted.id}`, 'X-Forwarded-For: 6.6.6.6', 'X-Forwarded-Proto: https', 'X-Forwarded-Host: evil.example', 'X-Real-IP: 6.6.6.6',
      ], '127.0.0.2');
      assertOwnForwarding(headers, new URL(trusted.stack.url).host, '127.0.0.2');
    });
  });

  describe('configuration', () => {
    test('an invalid TESSERA_TRUSTED_PROXIES entry is refused, naming the key and the entry', () => {
      for (const value of ['10.0.0.0/33', 'not-an-address', '10.0.0.0/8,300.1.1.1', '127.0.0.1/', '::1/129', '10.0.0.0/8x']) {
        const line = problems({ ...baseEnv, TESSERA_TRUSTED_PROXIES: value }).find((l) => l.startsWith('TESSERA_TRUSTED_PROXIES:'));
        assert.ok(line, `${value}: no TESSERA_TRUSTED_PROXIES problem`);
      }
    });

    test('addresses and CIDR ranges of both families are accepted; the default is none', () => {
      assert.deepEqual(loadConfig(baseEnv).trustedProxies, []);
      assert.deepEqual(loadConfig({ ...baseEnv, TESSERA_TRUSTED_PROXIES: '10.0.0.0/8, 127.0.0.1,::1/128' }).trustedProxies, ['10.0.0.0/8', '127.0.0.1', '::1/128']);
    });

    test('the trustedProxies option is validated by createTessera too', async () => {
      assert.throws(() => createTessera({ ...minimalOptions, trustedProxies: ['10.0.0.0/33'] }), /trustedProxies|TESSERA_TRUSTED_PROXIES/);
      assert.deepEqual(resolveConfig({ ...minimalOptions, trustedProxies: ['10.0.0.0/8', '::1'] }).trustedProxies, ['10.0.0.0/8', '::1']);
      await createTessera({ ...minimalOptions, trustedProxies: ['10.0.0.0/8', '::1'] }).close();
    });

    test('tessera serve with an invalid TESSERA_TRUSTED_PROXIES fails at start, naming it', async () => {
      const { code, stderr } = await runCli(['serve'], { ...serveEnv, TESSERA_TRUSTED_PROXIES: '10.0.0.0/33' }, 10_000);
      assert.notEqual(code, 0);
      assert.match(stderr, /TESSERA_TRUSTED_PROXIES/);
    });
  });
});
