import type { ClientFacts } from '../session/binding.js';

/** What the edge knows of a request's client beyond its headers: its address (socket peer, or the trusted proxies' client). */
export interface ClientInfo {
  address?: string | undefined;
}

/** A `/auth/*` request's client, as session binding and the sign-in record read it. */
export function clientFacts(request: Request, client: ClientInfo | undefined): ClientFacts {
  return { header: (name) => request.headers.get(name), clientAddress: () => client?.address };
}
