import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import type { Decision, RequestFacts } from '../app/decision.js';
import type { Denial } from '../app/denials.js';

/**
 * Converts between node's `http` objects and Web `Request`/`Response` for the `/auth/*` routes
 * (not the hot path). The request URL is built on the configured public origin, never on the
 * client's `Host` header.
 */
export function toRequest(req: IncomingMessage, publicUrl: string, target = req.url ?? '/', maxBodyBytes = 64 * 1024): Request {
  const headers = new Headers();
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!;
    if (name.startsWith(':')) continue;
    headers.append(name, req.rawHeaders[i + 1]!);
  }
  const method = req.method ?? 'GET';
  const init: RequestInit & { duplex?: 'half' } = { method, headers };
  if (method !== 'GET' && method !== 'HEAD') {
    init.body = Readable.toWeb(limitBody(req, maxBodyBytes)) as ReadableStream;
    init.duplex = 'half';
  }
  // `target` is a canonical origin-form path: it cannot name another host (`//x` would).
  return new Request(new URL(target, publicUrl), init);
}

function limitBody(req: IncomingMessage, maxBytes: number): Readable {
  return Readable.from((async function* () {
    let seen = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      seen += chunk.length;
      // Past the limit the body is cut short, so the form parser rejects it as incomplete.
      if (seen > maxBytes) return;
      yield chunk;
    }
  })());
}

export async function writeResponse(res: ServerResponse, response: Response): Promise<void> {
  const headers: Record<string, string | string[]> = {};
  response.headers.forEach((value, name) => {
    if (name !== 'set-cookie') headers[name] = value;
  });
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) headers['set-cookie'] = cookies;
  // A request body left unread (refused early, or cut at the limit) leaves the connection unfit
  // for the client's next request on it: close it with this response.
  if (!res.req.complete) headers.connection = 'close';
  res.writeHead(response.status, headers);
  if (response.body === null) {
    res.end();
    return;
  }
  const body = Buffer.from(await response.arrayBuffer());
  res.end(body);
}

/**
 * A node request as the core reads it (Express's `originalUrl` when mounted below the root). The
 * client address is the socket peer unless `clientAddress` says otherwise (the gateway's trusted proxies).
 */
export function nodeFacts(req: IncomingMessage, publicUrl: string, cookie: string | undefined = req.headers.cookie, clientAddress?: () => string | undefined): RequestFacts {
  return {
    clientAddress: clientAddress ?? (() => unmapped(req.socket.remoteAddress)),
    url: (req as { originalUrl?: string }).originalUrl ?? req.url ?? '/',
    method: req.method,
    cookie,
    header: (name) => {
      const value = req.headers[name];
      return Array.isArray(value) ? value[0] : value;
    },
    request: (target) => toRequest(req, publicUrl, target),
  };
}

/** An IPv4-mapped IPv6 peer (`::ffff:203.0.113.7`) as the IPv4 address it is. */
function unmapped(address: string | undefined): string | undefined {
  return address?.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

export function sendDenial(res: ServerResponse, denial: Denial): void {
  res.writeHead(denial.status, denial.headers).end(denial.body);
}

/** What a passing decision adds to the response: the clearing of a dead cookie on optional routes. */
export function passOn(res: ServerResponse, decision: Extract<Decision, { kind: 'pass' }>): void {
  if (decision.clearCookie !== undefined) res.appendHeader('set-cookie', decision.clearCookie);
}
