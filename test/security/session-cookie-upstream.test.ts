/**
 * SECURITY.md, "Gateway": the session cookie never reaches the upstream, however it is spelled —
 * one cookie parser decides what authenticates and what is stripped. For every spelling the
 * gateway accepts as the session cookie (spaces and tabs around name, `=` and value, any position
 * among other cookies, spread over several Cookie lines), the request is served and the session
 * id appears in none of the headers the upstream receives; the application's own cookies still do.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as fc from 'fast-check';
import { rawExchange, rawStatus, startRecordingUpstream, useSignedInStack } from './support.js';

/** The upstream's cookies as `name=value` pairs, read the way RFC 6265 servers read them. */
function upstreamCookies(headers: Array<[string, string]>): string[] {
  return headers.filter(([name]) => name.toLowerCase() === 'cookie')
    .flatMap(([, value]) => value.split(';'))
    .map((pair) => {
      const eq = pair.indexOf('=');
      return eq === -1 ? pair.trim() : `${pair.slice(0, eq).trim()}=${pair.slice(eq + 1).trim()}`;
    })
    .filter((pair) => pair.length > 0);
}

/** Spaces and tabs, 0–3 of them: what RFC 6265 parsers trim around names and values. */
const ws = fc.array(fc.constantFrom(' ', '\t'), { maxLength: 3 }).map((chars) => chars.join(''));

/** `tessera` with each letter's case and percent-encoding chosen by fast-check (never exactly `tessera`). */
const decoyName = fc.array(fc.tuple(fc.boolean(), fc.boolean()), { minLength: 7, maxLength: 7 })
  .map((choices) => [...'tessera'].map((c, i) => {
    const [upper, encoded] = choices[i]!;
    const letter = upper ? c.toUpperCase() : c;
    return encoded ? `%${letter.charCodeAt(0).toString(16).toUpperCase()}` : letter;
  }).join(''))
  .filter((name) => name !== 'tessera');

describe('the session cookie never reaches the upstream', () => {
  /** The gateway under test in front of a recording upstream; `gw.id` is alice's session id. */
  const gw = useSignedInStack({ upstream: startRecordingUpstream });

  /** A raw GET with these Cookie header values; the status and what the upstream received (if it was reached). */
  async function send(cookieLines: string[]): Promise<{ status: number; headers: Array<[string, string]> | undefined }> {
    const seen = gw.upstream.received.length;
    // latin1: one byte per character, so U+00A0 goes on the wire as the single byte A0.
    const answer = await rawExchange(gw.port, Buffer.from([
      'GET /page HTTP/1.1', `Host: localhost:${gw.port}`, 'Accept: application/json', ...cookieLines.map((line) => `Cookie: ${line}`), 'Connection: close', '', '',
    ].join('\r\n'), 'latin1'));
    const reached = gw.upstream.received.length > seen;
    return { status: rawStatus(answer), headers: reached ? gw.upstream.received.at(-1)!.headers : undefined };
  }

  function assertNoSessionId(headers: Array<[string, string]>, sent: string[]): void {
    for (const [name, value] of headers) {
      assert.ok(!value.includes(gw.id), `the session id reached the upstream in ${name}: ${JSON.stringify(value)} (sent ${JSON.stringify(sent)})`);
      assert.ok(!name.includes(gw.id));
    }
  }

  const spellings: Array<(id: string) => string> = [
    (v) => `tessera=${v}`, (v) => `tessera =${v}`, (v) => ` tessera=${v}`, (v) => `tessera= ${v}`, (v) => `tessera = ${v} `,
    (v) => `\ttessera\t=\t${v}\t`, (v) => `theme=dark; tessera =${v}`, (v) => `tessera\t= ${v}; theme=dark`,
    (v) => `lang=en;tessera=${v};theme=dark`, (v) => `;; tessera=${v} ;;theme=dark;`,
  ];

  for (const spell of spellings) {
    test(`${JSON.stringify(spell('<id>'))} is served and the id stays out of the upstream's headers`, async () => {
      const cookie = spell(gw.id);
      const { status, headers } = await send([cookie]);
      assert.equal(status, 200, `not served: ${JSON.stringify(cookie)}`);
      assert.ok(headers);
      assertNoSessionId(headers, [cookie]);
      if (cookie.includes('theme')) assert.ok(upstreamCookies(headers).includes('theme=dark'), 'theme=dark reaches the upstream');
    });
  }

  test('several Cookie lines: the session cookie in any of them is stripped, the others are kept', async () => {
    for (const lines of [[`tessera=${gw.id}`, 'theme=dark'], ['theme=dark', ` tessera =\t${gw.id}`], ['lang=en', `theme=dark; tessera=${gw.id}`, 'app=1']]) {
      const { status, headers } = await send(lines);
      assert.equal(status, 200, JSON.stringify(lines));
      assertNoSessionId(headers!, lines);
      const cookies = upstreamCookies(headers!);
      assert.ok(cookies.includes('theme=dark'), `${JSON.stringify(cookies)} for ${JSON.stringify(lines)}`);
    }
  });

  /** The pairs of a request laid out by fast-check: shuffled, then cut into one to three Cookie lines joined by `glue`. */
  function layOut(pairs: string[], order: number[], cuts: number[], glue: string): string[] {
    const shuffled = pairs.map((pair, i) => [order[i % order.length]! + i / 100, pair] as const).sort(([x], [y]) => x - y).map(([, pair]) => pair);
    const at = [...new Set(cuts.map((n) => 1 + (n % Math.max(1, shuffled.length - 1))))].sort((x, y) => x - y);
    const lines: string[] = [];
    let from = 0;
    for (const cut of [...at, shuffled.length]) {
      if (cut > from) lines.push(shuffled.slice(from, cut).join(glue));
      from = cut;
    }
    return lines;
  }

  const layout = {
    session: fc.tuple(ws, ws, ws, ws),
    theme: fc.tuple(ws, ws, ws),
    others: fc.array(fc.constantFrom('lang=en', 'app=1', 'tessera2=x', 'xtessera=1', 'tessera-other=1', '', ' ', '\t'), { maxLength: 4 }),
    order: fc.array(fc.nat(), { minLength: 8, maxLength: 8 }),
    cuts: fc.array(fc.nat(), { maxLength: 2 }),
    glue: fc.constantFrom(';', '; ', ' ;', ';\t', ' ; '),
  };

  async function assertServedWithoutId(lines: string[]): Promise<void> {
    const { status, headers } = await send(lines);
    assert.equal(status, 200, `not served: ${JSON.stringify(lines)}`);
    assert.ok(headers);
    assertNoSessionId(headers, lines);
    assert.ok(upstreamCookies(headers).includes('theme=dark'), `theme=dark lost: ${JSON.stringify(upstreamCookies(headers))} for ${JSON.stringify(lines)}`);
  }

  test('fast-check: spaces and tabs anywhere, any position, one to three Cookie lines, other cookies — served, id never upstream', async () => {
    await fc.assert(fc.asyncProperty(fc.record(layout), async ({ session: [a, b, c, d], theme, others, order, cuts, glue }) => {
      const pairs = [`${a}tessera${b}=${c}${gw.id}${d}`, `${theme[0]}theme${theme[1]}=${theme[2]}dark`, ...others];
      await assertServedWithoutId(layOut(pairs, order, cuts, glue));
    }), { numRuns: 60 });
  });

  test('fast-check: copies of the cookie under cased or percent-encoded names (Tessera, %74essera, tesser%41) beside it never take the id upstream', async () => {
    const decoys = fc.array(fc.tuple(decoyName, ws, ws), { minLength: 1, maxLength: 2 });
    await fc.assert(fc.asyncProperty(fc.record({ ...layout, decoys }), async ({ session: [a, b, c, d], theme, others, decoys: copies, order, cuts, glue }) => {
      const pairs = [`${a}tessera${b}=${c}${gw.id}${d}`, `${theme[0]}theme${theme[1]}=${theme[2]}dark`, ...others, ...copies.map(([name, x, y]) => `${x}${name}${y}=${gw.id}`)];
      await assertServedWithoutId(layOut(pairs, order, cuts, glue));
    }), { numRuns: 60 });
  });

  test('two session cookies (even spelled apart, even on two lines) are not served, and nothing reaches the upstream', async () => {
    for (const lines of [[`tessera=${gw.id}; tessera=${gw.id}`], [`tessera=${gw.id}; \ttessera =${gw.id}`], [`tessera=${gw.id}`, ` tessera= ${gw.id}`]]) {
      const { status, headers } = await send(lines);
      assert.notEqual(status, 200, JSON.stringify(lines));
      assert.equal(headers, undefined, `reached the upstream: ${JSON.stringify(lines)}`);
    }
  });

  test('a nameless cookie whose value reads as the session cookie (=tessera=<id>) does not become tessera=<id> upstream', async () => {
    const lines = [`tessera=${gw.id}; =tessera=${gw.id}; theme=dark`];
    const { status, headers } = await send(lines);
    assert.equal(status, 200);
    assertNoSessionId(headers!, lines);
    assert.ok(!upstreamCookies(headers!).some((pair) => pair.startsWith('tessera=')), `upstream cookies: ${JSON.stringify(upstreamCookies(headers!))}`);
  });

  // String#trim (old Node cookie parsers, and this gateway's own readCookie before) drops U+00A0;
  // PHP-style parsers percent-decode names. Either reads these copies as the session cookie.
  for (const extra of ['\u00a0tessera', 'tessera\u00a0', '%20tessera', 'tessera%09']) {
    test(`a copy of the cookie named ${JSON.stringify(extra)} beside the real one does not take the id upstream`, async () => {
      await assertServedWithoutId([`tessera=${gw.id}; ${extra}=${gw.id}; theme=dark`]);
    });
  }
});
