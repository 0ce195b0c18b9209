import { createRequire } from 'node:module';
import {
  context,
  propagation,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Span,
  type TextMapGetter,
} from '@opentelemetry/api';

/**
 * Tessera's spans, through `@opentelemetry/api` only: without an SDK registered by the host every
 * call here is the API's no-op (no span is recorded, no header is read or written). Attributes
 * never carry tokens, cookies, session ids or store keys; a session appears by its `ref` at most.
 */
const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };

export const tracer = trace.getTracer('tessera', version);

export { SpanKind, SpanStatusCode };
export type { Attributes, Span };

/**
 * Runs `fn` in a new active span named `name`: an exception thrown (or a rejection) is recorded
 * on the span, which then ends with status ERROR and the error's class (or Tessera code) in
 * `error.type`. A span that does not record (no SDK) is not made active: `fn` runs as it would
 * without tracing, which keeps the no-op cost to one span object.
 */
export function withSpan<T>(name: string, attributes: Attributes, fn: (span: Span) => Promise<T>, kind: SpanKind = SpanKind.INTERNAL): Promise<T> {
  const span = tracer.startSpan(name, { kind, attributes });
  if (!span.isRecording()) return fn(span);
  return context.with(trace.setSpan(context.active(), span), async () => {
    try {
      return await fn(span);
    } catch (err) {
      failSpan(span, err);
      throw err;
    } finally {
      span.end();
    }
  });
}

/** Marks `span` failed by `err` (recorded as an exception event, status ERROR, `error.type`). */
export function failSpan(span: Span, err: unknown): void {
  if (!span.isRecording()) return;
  const error = err instanceof Error ? err : new Error(String(err));
  span.recordException(error);
  span.setAttribute('error.type', (error as { code?: unknown }).code !== undefined ? String((error as { code?: unknown }).code) : error.name);
  span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
}

/** Sets an attribute on the active span, when there is one that records. */
export function annotateActiveSpan(key: string, value: string | number | boolean): void {
  const span = trace.getActiveSpan();
  if (span !== undefined && span.isRecording()) span.setAttribute(key, value);
}

/** Reads a header from node's `rawHeaders` (a flat name/value list), case-insensitively. */
const rawHeadersGetter: TextMapGetter<string[]> = {
  keys(raw) {
    const names: string[] = [];
    for (let i = 0; i < raw.length; i += 2) names.push(raw[i]!.toLowerCase());
    return names;
  },
  get(raw, key) {
    let found: string | undefined;
    for (let i = 0; i < raw.length; i += 2) {
      if (raw[i]!.length === key.length && raw[i]!.toLowerCase() === key) {
        if (found !== undefined) return undefined; // two `traceparent`s: neither is trusted
        found = raw[i + 1];
      }
    }
    return found;
  },
};

/**
 * Runs `fn` in the trace the client's `traceparent` / `tracestate` name (W3C Trace Context, or
 * whatever propagator the host registered), unless a span is already active — the host's HTTP
 * instrumentation has then read them already. With no propagator registered this is just `fn()`.
 */
export function inClientTrace<T>(rawHeaders: string[], fn: () => T): T {
  const active = context.active();
  if (trace.getSpan(active) !== undefined) return fn();
  const extracted = propagation.extract(active, rawHeaders, rawHeadersGetter);
  return extracted === active ? fn() : context.with(extracted, fn);
}

/**
 * Writes `span`'s trace context into a flat upstream header list (`name, value, …`), replacing
 * any copy of the same headers, and of the client's `traceparent` / `tracestate`, so the upstream
 * sees one `traceparent`: the gateway's. When the
 * propagator writes nothing (no SDK), the list is left as it is: a client's own `traceparent`
 * still passes through unchanged.
 */
export function injectTraceContext(headers: string[], span: Span): void {
  if (!trace.isSpanContextValid(span.spanContext())) return; // no SDK, and no trace to continue
  const carrier: Record<string, string> = {};
  propagation.inject(trace.setSpan(context.active(), span), carrier);
  const names = Object.keys(carrier);
  if (names.length === 0) return;
  // The client's W3C headers go too: a `tracestate` of a trace the gateway did not continue means nothing upstream.
  const replaced = new Set([...names, 'traceparent', 'tracestate']);
  for (let i = headers.length - 2; i >= 0; i -= 2) {
    if (replaced.has(headers[i]!.toLowerCase())) headers.splice(i, 2);
  }
  for (const name of names) headers.push(name, carrier[name]!);
}
