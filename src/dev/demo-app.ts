import { createServer, type Server } from 'node:http';
import { escapeHtml } from '../lib/html.js';

/**
 * The demo application behind the gateway in `tessera dev`: it knows nothing about OIDC and
 * reads who the user is from the `X-Tessera-*` headers, like any upstream would.
 */
export async function startDemoApp(port = 0): Promise<{ url: string; server: Server; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const sub = String(req.headers['x-tessera-sub'] ?? '');
    const roles = String(req.headers['x-tessera-roles'] ?? '');
    if (req.url === '/api/hello') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ hello: sub, roles: roles ? roles.split(',') : [] }));
      return;
    }
    res.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'",
    }).end(demoPage(sub, roles));
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const address = server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : port}`;
  return { url, server, close: () => new Promise((resolve) => { server.close(() => resolve()); server.closeAllConnections(); }) };
}

function demoPage(sub: string, roles: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Tessera demo</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:44rem;margin:3rem auto;padding:0 1rem}dt{font-weight:600}pre{background:#f4f4f4;padding:.6rem;white-space:pre-wrap;word-break:break-all}</style></head>
<body><h1>Signed in as <span id="user">${escapeHtml(sub)}</span></h1>
<p>This page is served by a demo app behind the Tessera gateway. The app knows the user only from the headers the gateway adds.</p>
<dl><dt>Roles</dt><dd id="roles">${escapeHtml(roles) || '(none)'}</dd>
<dt>Access token expires</dt><dd id="token-exp">…</dd>
<dt>Session idle expiry</dt><dd id="idle-exp">…</dd>
<dt>Session absolute expiry</dt><dd id="abs-exp">…</dd>
<dt>Authentication</dt><dd id="amr">…</dd></dl>
<p><button id="call-api">Call /api/hello</button> <button id="call-anon">Call /api/hello without the cookie</button></p>
<pre id="api-result">(API answers appear here)</pre>
<form method="post" action="/auth/logout"><button type="submit" id="sign-out">Sign out</button></form>
<script>
const show = (id, v) => { document.getElementById(id).textContent = v; };
fetch('/auth/session', { headers: { accept: 'application/json' } }).then(r => r.json()).then(s => {
  if (!s.authenticated) return;
  show('token-exp', s.accessTokenExpiresAt); show('idle-exp', s.session.idleExpiresAt);
  show('abs-exp', s.session.absoluteExpiresAt); show('amr', (s.amr || []).join(', ') + (s.acr ? ' (acr ' + s.acr + ')' : ''));
});
const call = (credentials) => fetch('/api/hello', { credentials, headers: { accept: 'application/json' } })
  .then(async r => show('api-result', r.status + ' ' + await r.text()));
document.getElementById('call-api').onclick = () => call('same-origin');
document.getElementById('call-anon').onclick = () => call('omit');
</script></body></html>`;
}
