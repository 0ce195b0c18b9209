/**
 * SECURITY.md, "Gateway": `Forwarded`, `X-Forwarded-*` and `X-Real-IP` are trusted only from
 * `TESSERA_TRUSTED_PROXIES`, and `X-Forwarded-Host` is never the client's `Host`. Asserted on
 * what the upstream receives, header by header (raw, and merged as a CGI-style server reads them).
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import * as fc from 'fast-check';
import { loadConfig, resolveConfig } from '../../src/config/index.js';
import { TesseraError } from '../../src/errors.js';
import { createTessera } from '../../src/tessera.js';
import { runCli } from '../helpers/cli.js';
import { closeServer, listen, startStack, type Stack } from '../helpers/stack.js';
import { rawStatus, signIn } from './support.js';

interface Received { url: string; headers: Array<[string, string]> }

/** An upstream that records every request's headers exactly as they arrived (rawHeaders). */
async function startRecordingUpstream(): Promise<{ url: string; received: Received[]; close(): Promise<void> }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const headers: Array<[string, string]> = [];
    for (let i = 0; i < req.rawHeaders.length; i += 2) headers.push([req.rawHeaders[i]!, req.rawHeaders[i + 1]!]);
    received.push({ url: req.url ?? '', headers });
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'text/plain' }).end('ok'));
  });
  const url = await listen(server, 0);
  return { url, received, close: () => closeServer(server) };
}

/** Sends a raw request from `localAddress` (all of 127.0.0.0/8 is loopback on Linux); resolves with the answer once the server closes. */
function rawFrom(localAddress: string, port: number, data: string, ms = 3000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', localAddress });
    let answer = '';
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    const timer = setTimeout(done, ms);
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (answer += chunk));
    socket.on('close', done);
    socket.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' || err.code === 'EPIPE' ? done() : reject(err)));
    socket.write(data);
  });
}

/** A CGI-style server's view: lower-cased names, `_` read as `-`, every value in order. */
function cgiMerge(headers: Array<[string, string]>): Map<string, string[]> {
  const merged = new Map<string, string[]>();
  for (const [name, value] of headers) {
    const key = name.toLowerCase().replace(/_/g, '-');
    merged.set(key, [...(merged.get(key) ?? []), value]);
  }
  return merged;
}

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
  let stack: Stack;
  let upstream: Awaited<ReturnType<typeof startRecordingUpstream>>;
  let port: number;
  let id: string;

  before(async () => {
    upstream = await startRecordingUpstream();
    stack = await startStack({ options: { upstream: upstream.url } });
    port = Number(new URL(stack.url).port);
    id = await signIn(stack, stack.browser());
  });
  after(async () => {
    await stack?.close();
    await upstream?.close();
  });

  /** A raw GET through a gateway; the headers the upstream received for it. */
  async function through(gatewayPort: number, lines: string[], from = '127.0.0.1'): Promise<Array<[string, string]>> {
    const seen = upstream.received.length;
    const answer = await rawFrom(from, gatewayPort, ['GET /where HTTP/1.1', ...lines, 'Connection: close', '', ''].join('\r\n'));
    assert.equal(rawStatus(answer), 200, answer.slice(0, 200));
    assert.equal(upstream.received.length, seen + 1, 'the upstream was reached once');
    return upstream.received.at(-1)!.headers;
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
      const headers = await through(port, [
        'Host: evil.example', `Cookie: tessera=${id}`,
        'Forwarded: for=6.6.6.6;proto=https;host=evil.example', 'X-Forwarded-For: 6.6.6.6', 'X-Forwarded-For: 10.6.6.6',
        'X-Forwarded-Proto: https', 'X-Forwarded-Host: evil.example', 'X-Forwarded-Port: 8443', 'X-Real-IP: 6.6.6.6',
        'X_Forwarded_For: 6.6.6.6', 'x-forwarded_host: evil.example', 'X-REAL_IP: 6.6.6.6', 'X_FORWARDED_PROTO: https',
      ]);
      assertOwnForwarding(headers, new URL(stack.url).host);
    });

    test('fast-check: no casing, `_`/`-` mix, repetition, padding or position of forwarding headers gets a client claim upstream', async () => {
      const request = fc.record({
        lines: fc.array(fc.tuple(forwardingSpelling, forgedValue), { minLength: 1, maxLength: 6 }),
        host: fc.constantFrom('evil.example', 'evil.example:8443', `localhost:${port}`, '6.6.6.6'),
        cookieAt: fc.nat({ max: 6 }),
      });
      await fc.assert(fc.asyncProperty(request, async ({ lines, host, cookieAt }) => {
        const forged = lines.map(([name, value]) => `${name}: ${value}`);
        forged.splice(Math.min(cookieAt, forged.length), 0, `Cookie: tessera=${id}`);
        assertOwnForwarding(await through(port, [`Host: ${host}`, ...forged]), new URL(stack.url).host);
      }), { numRuns: 40 });
    });

    test('a trustedProxies list that does not hold the peer changes nothing', async () => {
      const other = await startStack({ idp: stack.idp, options: { upstream: upstream.url, trustedProxies: ['10.0.0.0/8', '::1/128', '127.0.0.2'] } });
      try {
        const otherPort = Number(new URL(other.url).port);
        const otherId = await signIn(other, other.browser());
        const headers = await through(otherPort, [
          'Host: evil.example', `Cookie: tessera=${otherId}`, 'X-Forwarded-For: 6.6.6.6', 'X-Forwarded-Proto: https', 'X-Forwarded-Host: evil.example', 'X-Real-IP: 6.6.6.6', 'Forwarded: for=6.6.6.6',
        ]);
        assertOwnForwarding(headers, new URL(other.url).host);
      } finally {
        await other.close();
      }
    });

    test('with allowUnderscoreHeaders, underscore spellings of forwarding headers are still dropped', async () => {
      const open = await startStack({ idp: stack.idp, options: { upstream: upstream.url, allowUnderscoreHeaders: true } });
      try {
        const openPort = Number(new URL(open.url).port);
        const openId = await signIn(open, open.browser());
        const headers = await through(openPort, [
          'Host: evil.example', `Cookie: tessera=${openId}`, 'X_Forwarded_For: 6.6.6.6', 'x_forwarded_proto: https', 'X-Forwarded_Host: evil.example',
          'X_Real_IP: 6.6.6.6', 'X_FORWARDED_PORT: 8443', 'My_Header: kept',
        ]);
        assertOwnForwarding(headers, new URL(open.url).host);
        assert.deepEqual(cgiMerge(headers).get('my-header'), ['kept'], 'a benign underscore header still passes');
      } finally {
        await open.close();
      }
    });
  });

  describe('from a trusted proxy (trustedProxies: 127.0.0.1/32)', () => {
    let trusted: Stack;
    let trustedPort: number;
    let trustedId: string;
    before(async () => {
      trusted = await startStack({ idp: stack.idp, options: { upstream: upstream.url, trustedProxies: ['127.0.0.1/32'] } });
      trustedPort = Number(new URL(trusted.url).port);
      trustedId = await signIn(trusted, trusted.browser());
    });
    after(async () => { await trusted?.close(); });

    test('the X-Forwarded-For chain is kept and the peer appended: 203.0.113.7, 127.0.0.1', async () => {
      const merged = cgiMerge(await through(trustedPort, [`Host: localhost:${trustedPort}`, `Cookie: tessera=${trustedId}`, 'X-Forwarded-For: 203.0.113.7']));
      assert.deepEqual(merged.get('x-forwarded-for'), ['203.0.113.7, 127.0.0.1']);
    });

    test('several X-Forwarded-For lines make one chain, in order, ending in the peer', async () => {
      const merged = cgiMerge(await through(trustedPort, ['Host: internal.example', `Cookie: tessera=${trustedId}`, 'X-Forwarded-For: 203.0.113.7', 'X-Forwarded-For: 10.0.0.1']));
      assert.deepEqual(merged.get('x-forwarded-for'), ['203.0.113.7, 10.0.0.1, 127.0.0.1']);
    });

    test("the trusted proxy's X-Forwarded-Proto and X-Forwarded-Host are kept, once each", async () => {
      const merged = cgiMerge(await through(trustedPort, [
        'Host: internal.example', `Cookie: tessera=${trustedId}`, 'X-Forwarded-For: 203.0.113.7', 'X-Forwarded-Proto: https', 'X-Forwarded-Host: app.example',
      ]));
      assert.deepEqual(merged.get('x-forwarded-proto'), ['https']);
      assert.deepEqual(merged.get('x-forwarded-host'), ['app.example']);
    });

    test('a trusted proxy that sends no X-Forwarded-Proto/Host gets the public URL, never its Host', async () => {
      const merged = cgiMerge(await through(trustedPort, ['Host: evil.example', `Cookie: tessera=${trustedId}`, 'X-Forwarded-For: 203.0.113.7']));
      assert.deepEqual(merged.get('x-forwarded-proto'), ['http']);
      assert.deepEqual(merged.get('x-forwarded-host'), [new URL(trusted.url).host]);
    });

    test('a Connection header naming X-Forwarded-Proto/Host still leaves the upstream exactly one of each', async () => {
      const merged = cgiMerge(await through(trustedPort, [
        'Host: internal.example', `Cookie: tessera=${trustedId}`, 'X-Forwarded-Proto: https', 'X-Forwarded-Host: app.example', 'Connection: x-forwarded-proto, x-forwarded-host, x-forwarded-for',
      ]));
      assert.equal(merged.get('x-forwarded-proto')?.length, 1, `X-Forwarded-Proto: ${merged.get('x-forwarded-proto')?.join(' | ')}`);
      assert.equal(merged.get('x-forwarded-host')?.length, 1, `X-Forwarded-Host: ${merged.get('x-forwarded-host')?.join(' | ')}`);
      assert.deepEqual(merged.get('x-forwarded-for'), ['127.0.0.1']);
    });

    test('the same headers from another address (127.0.0.2, not in the list) are dropped', async () => {
      const headers = await through(trustedPort, [
        'Host: evil.example', `Cookie: tessera=${trustedId}`, 'X-Forwarded-For: 6.6.6.6', 'X-Forwarded-Proto: https', 'X-Forwarded-Host: evil.example', 'X-Real-IP: 6.6.6.6',
      ], '127.0.0.2');
      assertOwnForwarding(headers, new URL(trusted.url).host, '127.0.0.2');
    });
  });

  describe('configuration', () => {
    const base = {
      TESSERA_ISSUER: 'https://idp.example.com',
      TESSERA_CLIENT_ID: 'app',
      TESSERA_CLIENT_SECRET: 'secret',
      TESSERA_KEYS: 'k1:' + Buffer.alloc(32, 1).toString('base64url'),
    };

    function problems(env: Record<string, string>): string[] {
      try {
        loadConfig(env);
      } catch (err) {
        assert.ok(err instanceof TesseraError);
        assert.equal(err.code, 'ERR_CONFIG_INVALID');
        return err.message.split('\n').slice(1).map((l) => l.trim());
      }
      assert.fail(`expected ${JSON.stringify(env)} to be rejected`);
    }

    test('an invalid TESSERA_TRUSTED_PROXIES entry is refused, naming the key and the entry', () => {
      for (const value of ['10.0.0.0/33', 'not-an-address', '10.0.0.0/8,300.1.1.1', '127.0.0.1/', '::1/129', '10.0.0.0/8x']) {
        const line = problems({ ...base, TESSERA_TRUSTED_PROXIES: value }).find((l) => l.startsWith('TESSERA_TRUSTED_PROXIES:'));
        assert.ok(line, `${value}: no TESSERA_TRUSTED_PROXIES problem`);
      }
    });

    test('addresses and CIDR ranges of both families are accepted; the default is none', () => {
      assert.deepEqual(loadConfig(base).trustedProxies, []);
      assert.deepEqual(loadConfig({ ...base, TESSERA_TRUSTED_PROXIES: '10.0.0.0/8, 127.0.0.1,::1/128' }).trustedProxies, ['10.0.0.0/8', '127.0.0.1', '::1/128']);
    });

    test('the trustedProxies option is validated by createTessera too', async () => {
      const options = { issuer: 'http://localhost:4000', clientId: 'c', clientSecret: 's', development: true, store: 'memory:' };
      assert.throws(() => createTessera({ ...options, trustedProxies: ['10.0.0.0/33'] }), /trustedProxies|TESSERA_TRUSTED_PROXIES/);
      assert.deepEqual(resolveConfig({ ...options, trustedProxies: ['10.0.0.0/8', '::1'] }).trustedProxies, ['10.0.0.0/8', '::1']);
      await createTessera({ ...options, trustedProxies: ['10.0.0.0/8', '::1'] }).close();
    });

    test('tessera serve with an invalid TESSERA_TRUSTED_PROXIES fails at start, naming it', async () => {
      const { code, stderr } = await runCli(['serve'], {
        ...base, TESSERA_UPSTREAM: 'http://127.0.0.1:9', TESSERA_STORE: 'memory:', TESSERA_PORT: '0', TESSERA_TRUSTED_PROXIES: '10.0.0.0/33',
      }, 10_000);
      assert.notEqual(code, 0);
      assert.match(stderr, /TESSERA_TRUSTED_PROXIES/);
    });
  });
});
