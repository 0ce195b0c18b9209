/** Shared steps of the dev IdP tests: start on a free port with a temporary data directory, PKCE, code exchange. */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDevIdp, DEV_CLIENT_ID, DEV_CLIENT_SECRET, type DevIdp, type DevIdpOptions } from '../../src/dev-idp/index.js';
import type { Browser, Page } from '../helpers/browser.js';

export const CALLBACK = 'http://localhost:3000/auth/callback';
export const atCallback = (url: URL) => url.pathname === '/auth/callback';

export interface TestIdp {
  idp: DevIdp;
  dataDir: string;
  /** Stops the IdP and removes the data directory. */
  stop(): Promise<void>;
}

export async function makeDataDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'tessera-dev-idp-'));
}

export async function startTestIdp(options: DevIdpOptions = {}): Promise<TestIdp> {
  const dataDir = options.dataDir ?? (await makeDataDir());
  const idp = await startDevIdp({ port: 0, quiet: true, ...options, dataDir });
  return {
    idp,
    dataDir,
    async stop() {
      await idp.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export interface AuthRequest {
  url: string;
  clientId: string;
  state: string;
  nonce: string;
  verifier: string;
  redirectUri: string;
}

/** An authorization request for `tessera-dev` with PKCE S256, state and nonce. */
export function authorizationRequest(idp: DevIdp, params: Record<string, string> = {}): AuthRequest {
  const verifier = randomBytes(32).toString('base64url');
  const state = randomBytes(12).toString('base64url');
  const nonce = randomBytes(12).toString('base64url');
  const redirectUri = params.redirect_uri ?? CALLBACK;
  const url = new URL('/cis/oidc/auth', idp.url);
  url.search = new URLSearchParams({
    client_id: DEV_CLIENT_ID,
    response_type: 'code',
    scope: 'openid',
    redirect_uri: redirectUri,
    state,
    nonce,
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
    ...params,
  }).toString();
  return { url: url.href, clientId: url.searchParams.get('client_id') ?? DEV_CLIENT_ID, state, nonce, verifier, redirectUri };
}

/** The `code` of a callback page, after checking `state`; fails with the error otherwise. */
export function codeFrom(page: Page, request: AuthRequest): string {
  if (!page.stopped) throw new Error(`expected a redirect to the callback, got ${page.status} at ${page.url}: ${page.text.slice(0, 300)}`);
  const params = new URL(page.url).searchParams;
  if (params.get('state') !== request.state) throw new Error(`state mismatch in ${page.url}`);
  const code = params.get('code');
  if (code === null) throw new Error(`no code in ${page.url}`);
  return code;
}

export interface TokenResponse {
  access_token: string;
  id_token: string;
  token_type: string;
  expires_in: number;
  scope: string;
  refresh_token?: string;
}

export interface ClientAuth {
  /** How the client authenticates: secret in the body (default) or HTTP Basic. */
  auth?: 'post' | 'basic';
  clientId?: string;
  clientSecret?: string;
}

export async function tokenRequest(idp: DevIdp, form: Record<string, string>, client: ClientAuth = {}, path = '/oidc/token'): Promise<Response> {
  const { auth = 'post', clientId = DEV_CLIENT_ID, clientSecret = DEV_CLIENT_SECRET } = client;
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  const body = new URLSearchParams(form);
  if (auth === 'post') {
    body.set('client_id', clientId);
    body.set('client_secret', clientSecret);
  } else {
    const encode = (v: string) => encodeURIComponent(v);
    headers.authorization = `Basic ${Buffer.from(`${encode(clientId)}:${encode(clientSecret)}`).toString('base64')}`;
  }
  return fetch(new URL(path, idp.url), { method: 'POST', headers, body });
}

export async function exchangeCode(idp: DevIdp, code: string, request: AuthRequest, client: ClientAuth = {}): Promise<TokenResponse> {
  const response = await tokenRequest(idp, {
    grant_type: 'authorization_code',
    code,
    redirect_uri: request.redirectUri,
    code_verifier: request.verifier,
  }, { clientId: request.clientId, ...client });
  const body = await response.text();
  if (response.status !== 200) throw new Error(`token endpoint answered ${response.status}: ${body}`);
  return JSON.parse(body) as TokenResponse;
}

/** Signs in through the browser and exchanges the code: the whole authorization-code flow. */
export async function signInAndExchange(
  idp: DevIdp,
  browser: Browser,
  credentials: { username: string; password: string; otp?: string },
  params: Record<string, string> = {},
  client: ClientAuth = {},
): Promise<{ tokens: TokenResponse; request: AuthRequest }> {
  const request = authorizationRequest(idp, params);
  const page = await browser.signIn(request.url, { ...credentials, stopAt: atCallback });
  const tokens = await exchangeCode(idp, codeFrom(page, request), request, client);
  return { tokens, request };
}

/** Runs `prompt=none` and returns the callback's query (code or error). */
export async function silentAuth(idp: DevIdp, browser: Browser, params: Record<string, string> = {}): Promise<{ params: URLSearchParams; request: AuthRequest }> {
  const request = authorizationRequest(idp, { prompt: 'none', ...params });
  const page = await browser.navigate(request.url, { stopAt: atCallback });
  if (!page.stopped) throw new Error(`prompt=none did not redirect to the callback: ${page.status} ${page.text.slice(0, 300)}`);
  return { params: new URL(page.url).searchParams, request };
}

export function decodeJwtPayload(token: string): Record<string, unknown> {
  const part = token.split('.')[1];
  if (part === undefined) throw new Error('not a JWT');
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
}
