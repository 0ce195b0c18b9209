/** Helpers for the self-service sessions tests: signed-in browsers and the `/auth/sessions` calls. */
import assert from 'node:assert/strict';
import { Browser } from '../helpers/browser.js';
import type { Stack } from '../helpers/stack.js';

export interface SessionListing {
  ref: string;
  current: boolean;
  createdAt: string;
  lastSeenAt: string;
  idleExpiresAt: string;
  absoluteExpiresAt: string;
  userAgent: string | null;
  acr: string | null;
  amr: string[];
}

export interface SignedIn {
  browser: Browser;
  /** The `Cookie` header carrying the session. */
  cookie: string;
}

/** Signs `username` in through the gateway at `url` in a new browser sending `userAgent`. */
export async function signInAs(url: string, username: string, userAgent: string, cookieName = 'tessera'): Promise<SignedIn> {
  const browser = new Browser({ userAgent });
  const page = await browser.signIn(`${url}/auth/login?returnTo=%2Fhome`, { username, password: username });
  assert.equal(page.status, 200, `signed in as ${username}: ${page.url}`);
  const id = browser.jar.get(cookieName, url);
  assert.ok(id, 'session cookie set');
  return { browser, cookie: `${cookieName}=${id}` };
}

export function signInOn(stack: Stack, username: string, userAgent: string): Promise<SignedIn> {
  return signInAs(stack.url, username, userAgent, stack.tessera.cookieName);
}

/** `GET /auth/sessions` as an API call with `cookie`. */
export async function listSessions(url: string, cookie: string | undefined): Promise<{ status: number; sessions: SessionListing[] }> {
  const response = await fetch(`${url}/auth/sessions`, { headers: { accept: 'application/json', ...(cookie ? { cookie } : {}) } });
  const body = (await response.json()) as { sessions?: SessionListing[] };
  return { status: response.status, sessions: body.sessions ?? [] };
}

/** `DELETE /auth/sessions[/<ref>]` from this origin (unless `headers` say otherwise). */
export async function endSessions(url: string, cookie: string | undefined, ref?: string, headers: Record<string, string> = { origin: url }): Promise<Response> {
  const response = await fetch(`${url}/auth/sessions${ref === undefined ? '' : `/${ref}`}`, {
    method: 'DELETE',
    headers: { accept: 'application/json', ...(cookie ? { cookie } : {}), ...headers },
  });
  await response.body?.cancel();
  return response;
}

/** The status `GET /auth/session` answers for `cookie` (200 signed in, 401 not). */
export async function sessionStatusAt(url: string, cookie: string): Promise<number> {
  const response = await fetch(`${url}/auth/session`, { headers: { accept: 'application/json', cookie } });
  await response.body?.cancel();
  return response.status;
}
