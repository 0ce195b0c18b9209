/** Small node:http helpers for the routes the dev IdP serves itself. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { TesseraError } from '../errors.js';

const FORM_LIMIT = 16 * 1024;

/** Parses an `application/x-www-form-urlencoded` body (at most 16 KiB). */
export async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') {
    req.resume();
    throw new TesseraError('ERR_DEV_IDP_BAD_REQUEST', 'expected a form body (application/x-www-form-urlencoded)', { status: 415 });
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > FORM_LIMIT) {
      throw new TesseraError('ERR_DEV_IDP_BAD_REQUEST', 'request body too large', { status: 413 });
    }
    chunks.push(chunk as Buffer);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

/** Pages are self-contained: inline style, and inline script only where a form auto-submits. */
export const CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; frame-ancestors 'none'";

const securityHeaders = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
};

export function sendHtml(res: ServerResponse, status: number, html: string): void {
  res.writeHead(status, {
    ...securityHeaders,
    'content-type': 'text/html; charset=utf-8',
    'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; form-action 'self' http://localhost:* http://127.0.0.1:* http://[::1]:*; frame-ancestors 'none'",
    'content-length': Buffer.byteLength(html),
  });
  res.end(html);
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...securityHeaders,
    ...headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

export function redirect(res: ServerResponse, location: string): void {
  res.writeHead(303, { ...securityHeaders, location, 'content-length': 0 });
  res.end();
}

/** The bearer token of an `Authorization` header, or `undefined`. */
export function bearerToken(req: IncomingMessage): string | undefined {
  const match = /^Bearer[ ]+([A-Za-z0-9\-._~+/]+=*)$/i.exec(req.headers.authorization ?? '');
  return match?.[1];
}
