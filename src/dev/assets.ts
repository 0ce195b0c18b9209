/**
 * The demo app's static files, served under `/static/` (public with the demo's route rules). They
 * live here as strings so the demo stays one self-contained module: no third-party resources, and
 * nothing to copy into `dist/`.
 */

export interface Asset {
  readonly contentType: string;
  readonly body: string;
}

const css = `:root{color-scheme:light;--ink:#1d2330;--muted:#5b6475;--line:#dfe3ea;--accent:#2f5bd3;--ok:#1f7a4d;--bad:#b42318}
*{box-sizing:border-box}
body{font:16px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--ink);max-width:46rem;margin:0 auto;padding:0 1rem 3rem}
nav{display:flex;gap:1rem;align-items:center;flex-wrap:wrap;padding:.9rem 0;border-bottom:1px solid var(--line);margin-bottom:1.5rem}
nav .brand{font-weight:700;margin-right:auto}
nav a{color:var(--accent);text-decoration:none}
nav a[aria-current="page"]{color:var(--ink);font-weight:600}
nav form{margin:0}
h1{font-size:1.6rem;margin:.2rem 0 1rem}
dt{font-weight:600}
dd{margin:0 0 .6rem}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.92em}
pre{background:#f4f5f7;padding:.6rem;white-space:pre-wrap;word-break:break-all;border-radius:4px}
table{border-collapse:collapse;width:100%;margin:1rem 0}
th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid var(--line);vertical-align:top}
.muted{color:var(--muted)}
.badge{display:inline-block;padding:0 .45rem;border-radius:999px;font-size:.85em;background:#e8eefc;color:var(--accent)}
.badge.ok{background:#e3f4eb;color:var(--ok)}
.badge.bad{background:#fde8e6;color:var(--bad)}
.button,button{font:inherit;padding:.35rem .9rem;border:1px solid var(--accent);border-radius:4px;background:var(--accent);color:#fff;cursor:pointer;text-decoration:none;display:inline-block}
button.secondary{background:#fff;color:var(--accent)}
.tour{border:1px solid var(--line);border-radius:6px;padding:.2rem 1rem .4rem;margin:0 0 1.5rem}
.tour h2{font-size:1.1rem;margin:.6rem 0 0}
.tour p{margin:.2rem 0}
.tour ol{margin:.4rem 0;padding-left:1.3rem}
.tour li{margin:.3rem 0}
.tour form{display:inline;margin:0}
.tour button{padding:0 .6rem}
`;

/** The signed-in page's script: what `/auth/session` says, and the API called with and without the cookie. */
const appJs = `'use strict';
const show = (id, v) => { const el = document.getElementById(id); if (el) el.textContent = v; };
fetch('/auth/session', { headers: { accept: 'application/json' } }).then((r) => r.json()).then((s) => {
  if (!s.authenticated) return;
  show('token-exp', s.accessTokenExpiresAt);
  show('idle-exp', s.session.idleExpiresAt);
  show('abs-exp', s.session.absoluteExpiresAt);
  show('amr', (s.amr || []).join(', ') + (s.acr ? ' (acr ' + s.acr + ')' : ''));
  show('auth-time', s.authTime || '(unknown)');
});
const call = (credentials) => fetch('/api/hello', { credentials, headers: { accept: 'application/json' } })
  .then(async (r) => show('api-result', r.status + ' ' + await r.text()));
document.getElementById('call-api').addEventListener('click', () => call('same-origin'));
document.getElementById('call-anon').addEventListener('click', () => call('omit'));
`;

// --- Your sessions (self-service: GET/DELETE /auth/sessions) ---------------------------------
/** The "Your sessions" section's script: lists the user's sessions and ends one, or all of them. */
const sessionsJs = `'use strict';
(() => {
  const list = document.getElementById('sessions-list');
  const status = document.getElementById('sessions-status');
  const when = (iso) => new Date(iso).toLocaleString();
  const cell = (text, className) => { const td = document.createElement('td'); td.textContent = text; if (className) td.className = className; return td; };
  const end = (path) => fetch(path, { method: 'DELETE', headers: { accept: 'application/json' } });
  const row = (s) => {
    const tr = document.createElement('tr');
    tr.dataset.ref = s.ref;
    tr.className = s.current ? 'session current' : 'session other';
    const device = cell(s.userAgent || '(unknown device)', 'device');
    if (s.current) { const badge = document.createElement('span'); badge.className = 'badge ok'; badge.textContent = 'this browser'; device.append(' ', badge); }
    tr.append(device, cell(when(s.createdAt), 'created'), cell(when(s.lastSeenAt), 'last-seen'), cell(when(s.idleExpiresAt), 'expires'));
    const action = document.createElement('td');
    if (!s.current) {
      const button = document.createElement('button');
      button.className = 'secondary sign-out-session';
      button.textContent = 'Sign out';
      button.addEventListener('click', () => end('/auth/sessions/' + encodeURIComponent(s.ref)).then((r) => {
        status.textContent = r.status === 204 ? 'Signed out that session.' : 'Could not sign out that session (' + r.status + ').';
        return load();
      }));
      action.append(button);
    }
    tr.append(action);
    return tr;
  };
  const load = () => fetch('/auth/sessions', { headers: { accept: 'application/json' } }).then(async (r) => {
    if (r.status === 401) { location.href = '/auth/login?returnTo=' + encodeURIComponent(location.pathname); return; }
    const body = await r.json();
    list.replaceChildren(...body.sessions.map(row));
    document.getElementById('sessions-count').textContent = String(body.sessions.length);
  });
  document.getElementById('sign-out-everywhere').addEventListener('click', () => end('/auth/sessions').then(() => { location.href = '/'; }));
  load();
})();
`;
// --- end of Your sessions ----------------------------------------------------------------------

const favicon = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#2f5bd3"/><path d="M4 4h8v2H9v6H7V6H4z" fill="#fff"/></svg>`;

export const assets: ReadonlyMap<string, Asset> = new Map([
  ['/static/demo.css', { contentType: 'text/css; charset=utf-8', body: css }],
  ['/static/app.js', { contentType: 'text/javascript; charset=utf-8', body: appJs }],
  ['/static/sessions.js', { contentType: 'text/javascript; charset=utf-8', body: sessionsJs }],
  ['/static/favicon.svg', { contentType: 'image/svg+xml', body: favicon }],
]);
