/**
 * OpenTelemetry: without an SDK nothing changes (the client's `traceparent` passes as it is); with
 * a real in-memory SDK registered, a sign-in through the gateway against the dev IdP makes the
 * login, callback, token exchange, JWKS and store spans, a proxied request makes a CLIENT span
 * whose trace context the upstream receives, a client's `traceparent` is continued, and no span
 * carries the session cookie, its store key or the access token.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider, type ReadableSpan } from '@opentelemetry/sdk-trace';
import type { TesseraOptionsInput } from '../../src/config/index.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { rawExchange, rawStatus, sha256, signIn, startRecordingUpstream, type Received } from '../security/support.js';

const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
const clientParent = '00f067aa0ba902b7';
const clientTraceparent = `00-${traceId}-${clientParent}-01`;

/** The values of header `name` (any case) in what the upstream received. */
const valuesOf = (received: Received, name: string): string[] => received.headers.filter(([n]) => n.toLowerCase() === name).map(([, v]) => v);

/** A stack (SQLite store, token relay on) forwarding to an upstream that records raw headers. */
function useStack(options: Partial<TesseraOptionsInput> = {}) {
  const fixture = {} as { stack: Stack; upstream: Awaited<ReturnType<typeof startRecordingUpstream>>; id: string };
  before(async () => {
    fixture.upstream = await startRecordingUpstream();
    fixture.stack = await startStack({ options: { upstream: fixture.upstream.url, tokenRelay: true, ...options } });
  });
  after(async () => {
    await fixture.stack?.close();
    await fixture.upstream?.close();
  });
  return fixture;
}

/** One proxied GET with the session cookie and extra header lines; what the upstream received. */
async function proxiedRaw(f: ReturnType<typeof useStack>, path: string, lines: string[]): Promise<Received> {
  const port = Number(new URL(f.stack.url).port);
  const before = f.upstream.received.length;
  const answer = await rawExchange(port, [`GET ${path} HTTP/1.1`, `Host: localhost:${port}`, `Cookie: ${f.stack.tessera.cookieName}=${f.id}`, ...lines, 'Connection: close', '', ''].join('\r\n'));
  assert.equal(rawStatus(answer), 200, answer.slice(0, 200));
  assert.equal(f.upstream.received.length, before + 1);
  return f.upstream.received.at(-1)!;
}

describe('without an OpenTelemetry SDK', () => {
  const f = useStack();
  before(async () => {
    f.id = await signIn(f.stack, f.stack.browser());
  });

  test('the upstream gets no traceparent the client did not send', async () => {
    const received = await proxiedRaw(f, '/plain', []);
    assert.deepEqual(valuesOf(received, 'traceparent'), []);
    assert.deepEqual(valuesOf(received, 'tracestate'), []);
  });

  test("the client's own traceparent and tracestate pass through unchanged, once", async () => {
    const received = await proxiedRaw(f, '/traced', [`traceparent: ${clientTraceparent}`, 'tracestate: vendor=abc']);
    assert.deepEqual(valuesOf(received, 'traceparent'), [clientTraceparent]);
    assert.deepEqual(valuesOf(received, 'tracestate'), ['vendor=abc']);
  });
});

describe('with an in-memory OpenTelemetry SDK', () => {
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  before(() => {
    assert.ok(trace.setGlobalTracerProvider(provider));
    assert.ok(context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable()));
    assert.ok(propagation.setGlobalPropagator(new W3CTraceContextPropagator()));
  });
  after(async () => {
    trace.disable();
    context.disable();
    propagation.disable();
    await provider.shutdown();
  });
  // The test client is a trusted proxy, whose trace context is continued (TESSERA_TRACE_CONTEXT=trusted).
  const f = useStack({ trustedProxies: ['127.0.0.1', '::1'] });
  const spans = (name: string): ReadableSpan[] => exporter.getFinishedSpans().filter((s) => s.name === name);
  const one = (name: string): ReadableSpan => {
    const found = spans(name);
    assert.equal(found.length, 1, `one ${name} span, got ${found.length}: ${exporter.getFinishedSpans().map((s) => s.name).join(', ')}`);
    return found[0]!;
  };
  const parentOf = (span: ReadableSpan): string | undefined => span.parentSpanContext?.spanId;

  test('a sign-in through the gateway makes login, callback, token exchange, JWKS and store spans', async () => {
    exporter.reset();
    f.id = await signIn(f.stack, f.stack.browser());

    const login = one('tessera.login');
    assert.equal(login.attributes['http.response.status_code'], 302, 'a redirect to the IdP');
    const callback = one('tessera.callback');
    assert.equal(callback.attributes['http.response.status_code'], 302, 'a redirect to returnTo');
    assert.equal(callback.status.code, SpanStatusCode.UNSET);

    const exchange = one('tessera.token_exchange');
    assert.equal(parentOf(exchange), callback.spanContext().spanId);
    assert.equal(exchange.spanContext().traceId, callback.spanContext().traceId);

    const jwks = one('tessera.jwks_fetch');
    assert.equal(jwks.kind, SpanKind.CLIENT);
    assert.equal(jwks.spanContext().traceId, callback.spanContext().traceId, 'the first JWKS fetch is the callback\'s');
    assert.equal(jwks.attributes['http.response.status_code'], 200);
    const discovery = await (await fetch(f.stack.idp.discoveryUrl)).json() as { jwks_uri: string };
    assert.equal(jwks.attributes['url.full'], discovery.jwks_uri);

    // The callback's single-use mark and the new session are store writes inside the callback's trace.
    for (const name of ['tessera.store.putOnce', 'tessera.store.set']) {
      const store = spans(name).find((s) => s.spanContext().traceId === callback.spanContext().traceId);
      assert.ok(store, `${name} in the callback's trace`);
      assert.equal(store.kind, SpanKind.CLIENT);
      assert.equal(store.attributes['db.system'], 'sqlite');
      assert.equal(store.attributes['db.operation.name'], name.slice('tessera.store.'.length));
    }
  });

  test('a proxied request makes an upstream CLIENT span, and the upstream gets its trace context', async () => {
    exporter.reset();
    const received = await proxiedRaw(f, '/orders/7?secret=q', []);
    const upstream = one('tessera.upstream');
    assert.equal(upstream.kind, SpanKind.CLIENT);
    assert.equal(upstream.attributes['http.request.method'], 'GET');
    assert.equal(upstream.attributes['url.path'], '/orders/7');
    assert.equal(upstream.attributes['url.full'], `${f.upstream.url}/orders/7`, 'the query is left out');
    assert.equal(upstream.attributes['http.response.status_code'], 200);
    assert.equal(upstream.attributes['server.port'], Number(new URL(f.upstream.url).port));
    const { traceId: spanTrace, spanId } = upstream.spanContext();
    assert.deepEqual(valuesOf(received, 'traceparent'), [`00-${spanTrace}-${spanId}-01`]);
  });

  test("a client's traceparent is continued, and the upstream gets one traceparent: the gateway's", async () => {
    exporter.reset();
    const received = await proxiedRaw(f, '/continued', [`traceparent: ${clientTraceparent}`, 'tracestate: vendor=abc']);
    const upstream = one('tessera.upstream');
    assert.equal(upstream.spanContext().traceId, traceId);
    assert.equal(parentOf(upstream), clientParent);
    assert.deepEqual(valuesOf(received, 'traceparent'), [`00-${traceId}-${upstream.spanContext().spanId}-01`]);
    assert.deepEqual(valuesOf(received, 'tracestate'), ['vendor=abc']);
  });

  test('two traceparent headers continue neither, and the upstream still gets exactly one', async () => {
    exporter.reset();
    const other = `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01`;
    const received = await proxiedRaw(f, '/twice', [`traceparent: ${clientTraceparent}`, `traceparent: ${other}`]);
    const upstream = one('tessera.upstream');
    assert.notEqual(upstream.spanContext().traceId, traceId);
    assert.notEqual(upstream.spanContext().traceId, 'a'.repeat(32));
    assert.equal(parentOf(upstream), undefined);
    assert.deepEqual(valuesOf(received, 'traceparent'), [`00-${upstream.spanContext().traceId}-${upstream.spanContext().spanId}-01`]);
  });

  test('a client that is not a trusted proxy starts a new trace: its traceparent and tracestate do not reach the upstream', async () => {
    await f.stack.restart({ trustedProxies: [] });
    try {
      exporter.reset();
      const received = await proxiedRaw(f, '/untrusted', [`traceparent: ${clientTraceparent}`, 'tracestate: vendor=abc']);
      const upstream = one('tessera.upstream');
      assert.notEqual(upstream.spanContext().traceId, traceId);
      assert.equal(parentOf(upstream), undefined);
      assert.deepEqual(valuesOf(received, 'traceparent'), [`00-${upstream.spanContext().traceId}-${upstream.spanContext().spanId}-01`]);
      assert.deepEqual(valuesOf(received, 'tracestate'), []);
      // Other spellings of the same headers are the same headers.
      exporter.reset();
      const spelled = await proxiedRaw(f, '/untrusted-spelled', [`TraceParent: ${clientTraceparent}`, 'TRACESTATE: vendor=abc', `traceparent: ${clientTraceparent}`]);
      const second = one('tessera.upstream');
      assert.notEqual(second.spanContext().traceId, traceId);
      assert.deepEqual(valuesOf(spelled, 'traceparent'), [`00-${second.spanContext().traceId}-${second.spanContext().spanId}-01`]);
      assert.deepEqual(valuesOf(spelled, 'tracestate'), []);
    } finally {
      await f.stack.restart();
    }
  });

  test('TESSERA_TRACE_CONTEXT: `always` continues any client\'s trace, `never` not even a trusted proxy\'s', async () => {
    const cases: Array<[Partial<TesseraOptionsInput>, boolean]> = [[{ trustedProxies: [], traceContext: 'always' }, true], [{ traceContext: 'never' }, false]];
    for (const [settings, continued] of cases) {
      await f.stack.restart(settings);
      try {
        exporter.reset();
        await proxiedRaw(f, '/setting', [`traceparent: ${clientTraceparent}`]);
        const upstream = one('tessera.upstream');
        assert.equal(upstream.spanContext().traceId === traceId, continued, JSON.stringify(settings));
        assert.equal(parentOf(upstream), continued ? clientParent : undefined);
      } finally {
        await f.stack.restart();
      }
    }
  });

  test('an upstream that does not answer marks the upstream span failed', async () => {
    const stack = await startStack({ options: { upstream: 'http://127.0.0.1:1' } });
    try {
      exporter.reset();
      const page = await stack.login(stack.browser());
      assert.equal(page.status, 502, 'the landing page after sign-in is proxied to a closed port');
      const upstream = one('tessera.upstream');
      assert.equal(upstream.status.code, SpanStatusCode.ERROR);
      assert.ok(upstream.attributes['error.type'], 'error.type is set');
      assert.ok(upstream.events.some((e) => e.name === 'exception'));
    } finally {
      await stack.close();
    }
  });

  test('no span attribute, event or name carries the session cookie, its store key or the access token', async () => {
    exporter.reset();
    // A sign-in, proxied requests with token relay (a store read of the tokens), a callback rejected.
    const browser = f.stack.browser();
    const id = await signIn(f.stack, browser);
    await browser.request(`${f.stack.url}/after`);
    await proxiedRaw({ ...f, id }, '/raw', []);
    await browser.request(`${f.stack.url}/auth/callback?state=forged&code=x`);
    const relayed = f.upstream.received.flatMap((r) => valuesOf(r, 'authorization'));
    assert.ok(relayed.length > 0, 'the upstream got the access token');
    const accessToken = relayed.at(-1)!.replace(/^Bearer /, '');
    const secrets = { 'session id': id, 'store key': sha256(id), 'access token': accessToken, 'access token signature': accessToken.split('.')[2]! };

    const all = exporter.getFinishedSpans();
    assert.ok(all.length >= 8, `spans recorded: ${all.length}`);
    assert.ok(all.some((s) => s.name === 'tessera.callback' && s.attributes['tessera.callback.rejected'] === 'transaction_not_found'));
    for (const span of all) {
      const texts = [span.name, span.status.message ?? '', ...Object.entries(span.attributes).map(([k, v]) => `${k}=${String(v)}`)];
      for (const event of span.events) texts.push(event.name, ...Object.entries(event.attributes ?? {}).map(([k, v]) => `${k}=${String(v)}`));
      for (const text of texts) {
        for (const [what, secret] of Object.entries(secrets)) assert.ok(!text.includes(secret), `${span.name} carries the ${what}: ${text}`);
      }
    }
  });
});
