import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { escapeHtml } from '../lib/html.js';
import { assets } from './assets.js';
import { attachLiveClock, liveClockScript, liveClockScriptPath, liveClockSection } from './live-clock.js';
import { tourSection } from './tour.js';

/**
 * The route rules `tessera dev` gives the gateway in front of the demo app when `TESSERA_ROUTES`
 * is not set (in the `TESSERA_ROUTES` JSON format): the landing page is public and shows who is
 * signed in, `/static` is public, `/admin` needs the admin role and MFA, and everything else
 * (`/app`, `/api/hello`) needs a session.
 */
export const demoRouteRules = [
  { path: '/', exact: true, auth: 'optional' },
  { path: '/static', auth: 'none' },
  { path: '/admin', roles: ['admin'], acr: 'mfa' },
] as const;

/** Who the gateway says the user is: the `X-Tessera-*` headers, absent on public requests. */
interface Identity {
  sub: string;
  roles: string[];
  acr: string;
  amr: string[];
  session: string;
}

function identityOf(req: IncomingMessage): Identity | undefined {
  const header = (name: string) => {
    const value = req.headers[name];
    return Array.isArray(value) ? value.join(',') : (value ?? '');
  };
  const sub = header('x-tessera-sub');
  if (sub === '') return undefined;
  const list = (name: string) => header(name).split(',').map((v) => v.trim()).filter((v) => v !== '');
  return { sub, roles: list('x-tessera-roles'), acr: header('x-tessera-acr'), amr: list('x-tessera-amr'), session: header('x-tessera-session') };
}

const pageHeaders = {
  'content-type': 'text/html; charset=utf-8',
  // Pages differ by who is signed in: never cached.
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
  'content-security-policy': "default-src 'self'; frame-ancestors 'none'; base-uri 'none'",
};

/**
 * The demo application behind the gateway in `tessera dev`: it knows nothing about OIDC and
 * reads who the user is from the `X-Tessera-*` headers, like any upstream would. Pages: `/`
 * (landing, public), `/app` (signed in), `/admin` (admin role and MFA), `/api/hello` (JSON) and
 * the files under `/static/`.
 */
export async function startDemoApp(port = 0): Promise<{ url: string; server: Server; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    try {
      route(req, res);
    } catch {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('Internal error\n');
    }
  });
  attachLiveClock(server);
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const address = server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : port}`;
  return { url, server, close: () => new Promise((resolve) => { server.close(() => resolve()); server.closeAllConnections(); }) };
}

function route(req: IncomingMessage, res: ServerResponse): void {
  let path = new URL(req.url ?? '/', 'http://demo.invalid').pathname;
  if (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1);
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('Method not allowed\n');
    return;
  }
  if (path === liveClockScriptPath) {
    res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'public, max-age=60', 'x-content-type-options': 'nosniff' }).end(liveClockScript);
    return;
  }
  const asset = assets.get(path);
  if (asset !== undefined) {
    res.writeHead(200, { 'content-type': asset.contentType, 'cache-control': 'public, max-age=60', 'x-content-type-options': 'nosniff' }).end(asset.body);
    return;
  }
  const identity = identityOf(req);
  if (path === '/api/hello') {
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' })
      .end(JSON.stringify({ hello: identity?.sub ?? '', roles: identity?.roles ?? [], acr: identity?.acr || null }));
    return;
  }
  if (path === '/') return send(res, 200, landingPage(identity));
  if (path === '/app') return send(res, 200, appPage(identity));
  if (path === '/admin') {
    // The gateway's rule for /admin decides; the app checks again, as an app should, and says
    // so when the gateway was configured without that rule.
    if (identity === undefined || !identity.roles.includes('admin') || identity.acr !== 'mfa') return send(res, 403, adminRefused(identity));
    return send(res, 200, adminPage(identity));
  }
  send(res, 404, layout('Not found', '', identity, '<h1>Not found</h1><p>This demo app has no such page. Try the <a href="/">home page</a>.</p>'));
}

function send(res: ServerResponse, status: number, html: string): void {
  res.writeHead(status, pageHeaders).end(html);
}

const signInUrl = `/auth/login?returnTo=${encodeURIComponent('/app')}`;

function layout(title: string, current: string, identity: Identity | undefined, main: string, script?: string): string {
  const link = (href: string, text: string) => `<a href="${href}"${href === current ? ' aria-current="page"' : ''}>${text}</a>`;
  const account = identity === undefined
    ? `<a href="${signInUrl}" id="nav-sign-in">Sign in</a>`
    : `<span class="muted">${escapeHtml(identity.sub)}</span><form method="post" action="/auth/logout"><button type="submit" id="sign-out" class="secondary">Sign out</button></form>`;
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · Tessera demo</title>
<link rel="icon" href="/static/favicon.svg" type="image/svg+xml"><link rel="stylesheet" href="/static/demo.css"></head>
<body><nav><span class="brand">Tessera demo</span>${link('/', 'Home')}${link('/app', 'Your session')}${link('/admin', 'Admin')}${account}</nav>
<main>${main}</main>${script ? `<script src="${script}"></script>` : ''}</body></html>`;
}

function landingPage(identity: Identity | undefined): string {
  const who = identity === undefined
    ? `<p id="who">You are not signed in.</p><p><a class="button" id="sign-in" href="${signInUrl}">Sign in</a></p>`
    : `<p id="who">Signed in as <strong id="user">${escapeHtml(identity.sub)}</strong> <span class="muted">(roles <span id="roles">${escapeHtml(identity.roles.join(', ')) || 'none'}</span>)</span>.</p>
<p><a class="button" href="/app">Your session</a> <a class="button" href="/admin">Admin page</a></p>`;
  return layout('Home', '/', identity, `<h1>Tessera demo</h1>
<p>A demo app behind the Tessera gateway. It knows nothing about OpenID Connect: the gateway signs users in at the identity provider and tells the app who they are in <code>X-Tessera-*</code> headers.</p>
${who}
${tourSection('short', identity !== undefined)}
<h2>What the gateway's demo route rules do</h2>
<table><thead><tr><th>Path</th><th>Rule</th></tr></thead><tbody>
<tr><td><code>/</code></td><td>public; shows who is signed in when there is a session (<code>"auth": "optional"</code>)</td></tr>
<tr><td><code>/static/…</code></td><td>public; no session check, no cookies, no identity headers (<code>"auth": "none"</code>)</td></tr>
<tr><td><code>/admin</code></td><td>the <code>admin</code> role and a sign-in with MFA (<code>"roles": ["admin"], "acr": "mfa"</code>): a password-only session is sent back to the identity provider for the one-time code; anyone else gets 403</td></tr>
<tr><td>everything else</td><td>a session (<code>/app</code>, <code>/api/hello</code>)</td></tr>
</tbody></table>
<p class="muted">Demo users: alice / alice (roles admin, user), bob / bob (role user); one-time code 123456.</p>`);
}

function appPage(identity: Identity | undefined): string {
  return layout('Your session', '/app', identity, `<h1>Signed in as <span id="user">${escapeHtml(identity?.sub ?? '')}</span></h1>
${tourSection('full', identity !== undefined)}
<section id="who-you-are" aria-labelledby="who-you-are-title"><h2 id="who-you-are-title">Who you are</h2>
<p>This page is served by a demo app behind the Tessera gateway. The app knows the user only from the headers the gateway adds.</p>
<dl><dt>Roles</dt><dd id="roles">${escapeHtml(identity?.roles.join(',') ?? '') || '(none)'}</dd>
<dt>Access token expires</dt><dd id="token-exp">…</dd>
<dt>Session idle expiry</dt><dd id="idle-exp">…</dd>
<dt>Session absolute expiry</dt><dd id="abs-exp">…</dd>
<dt>Authentication</dt><dd id="amr">…</dd>
<dt>Signed in at</dt><dd id="auth-time">…</dd></dl></section>
<p><button id="call-api">Call /api/hello</button> <button id="call-anon" class="secondary">Call /api/hello without the cookie</button></p>
<pre id="api-result">(API answers appear here)</pre>
${liveClockSection()}
${yourSessionsSection()}`, '/static/app.js');
}

// --- Your sessions (self-service) --------------------------------------------------------------
/**
 * "Your sessions": every session of the signed-in user (device, times), a Sign out button per
 * other session and Sign out everywhere. The browser calls `/auth/sessions` on this origin
 * (`/static/sessions.js`); the app itself only serves the markup.
 */
function yourSessionsSection(): string {
  return `<section id="your-sessions"><h2>Your sessions (<span id="sessions-count">…</span>)</h2>
<p class="muted">Where you are signed in. Signing out another session ends it at once, on every gateway instance.</p>
<table><thead><tr><th>Device</th><th>Signed in</th><th>Last seen</th><th>Expires when idle</th><th></th></tr></thead>
<tbody id="sessions-list"></tbody></table>
<p><button id="sign-out-everywhere" class="secondary">Sign out everywhere</button> <span id="sessions-status" class="muted" role="status"></span></p>
<script src="/static/sessions.js" defer></script></section>`;
}
// --- end of Your sessions ----------------------------------------------------------------------

function adminPage(identity: Identity): string {
  return layout('Admin', '/admin', identity, `<h1>Admin</h1>
<p>You reached this page because the gateway's rule for <code>/admin</code> asks for the <code>admin</code> role and a sign-in with MFA, and your session has both. A session from a password-only sign-in is first sent back to the identity provider for the one-time code (a step-up), which makes a new session.</p>
<dl><dt>User</dt><dd id="user">${escapeHtml(identity.sub)}</dd>
<dt>Roles</dt><dd id="roles">${escapeHtml(identity.roles.join(','))}</dd>
<dt>Authentication level (acr)</dt><dd><span id="acr" class="badge ok">${escapeHtml(identity.acr)}</span></dd>
<dt>Methods (amr)</dt><dd id="amr">${escapeHtml(identity.amr.join(', ')) || '(none)'}</dd>
<dt>Session</dt><dd><code id="session-ref">${escapeHtml(identity.session)}</code></dd></dl>`);
}

function adminRefused(identity: Identity | undefined): string {
  const seen = identity === undefined ? 'no signed-in user'
    : `user ${escapeHtml(identity.sub)}, roles ${escapeHtml(identity.roles.join(', ')) || 'none'}, acr ${escapeHtml(identity.acr) || 'none'}`;
  return layout('Access denied', '/admin', identity, `<h1>Access denied</h1>
<p id="refused">The demo app checks again what the gateway's <code>/admin</code> rule should have checked (the <code>admin</code> role and acr <code>mfa</code>), and this request has <span class="badge bad">${seen}</span>.</p>
<p class="muted">If you set <code>TESSERA_ROUTES</code>, give it a rule such as <code>{"path": "/admin", "roles": ["admin"], "acr": "mfa"}</code>.</p>`);
}
