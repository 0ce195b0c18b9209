/** Tessera's own small HTML pages: self-contained, no third-party resources, one layout. */

import { randomUUID } from 'node:crypto';
import { escapeHtml } from '../lib/html.js';

/** A new id naming one answer, shown on an error page and written in its log line. */
export const newRequestId = (): string => randomUUID();

const style = 'body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#222}'
  + 'main{border:1px solid #ddd;border-radius:8px;padding:1.5rem 2rem}h1{font-size:1.4rem;margin-top:0}'
  + 'a,button{font:inherit}button{padding:.4rem 1rem}.actions a{margin-right:1.5rem}'
  + 'footer{margin-top:1.5rem;color:#666;font-size:.85rem}code{font-size:.85rem}';

interface Link { href: string; label: string }

function page(title: string, body: string, requestId?: string): string {
  const footer = requestId === undefined ? '' : `<footer>Request id <code id="request-id">${escapeHtml(requestId)}</code> — give it to support if this keeps happening.</footer>`;
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${escapeHtml(title)}</title><style>${style}</style></head><body><main>${body}</main>${footer}</body></html>`;
}

const actions = (links: readonly Link[]) => (links.length === 0 ? '' : `<p class="actions">${links.map((l) => `<a href="${escapeHtml(l.href)}">${escapeHtml(l.label)}</a>`).join('')}</p>`);

/**
 * An error page: what happened (`title`, `message`), what to do (`action`, else back to the home
 * page), and the request id also written in the log line.
 */
export function messagePage(title: string, message: string, action?: Link, requestId?: string): string {
  return page(title, `<h1>${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p>${actions(action ? [action] : [{ href: '/', label: 'Go to the home page' }])}`, requestId);
}

export function logoutFormPage(csrfToken: string): string {
  return page('Sign out', `<h1>Sign out?</h1><form method="post" action="/auth/logout"><input type="hidden" name="csrf" value="${escapeHtml(csrfToken)}"><button type="submit">Sign out</button></form>`);
}

/** After logout (unless `TESSERA_POST_LOGOUT_PATH` names another page). */
export function signedOutPage(idpEnded: boolean): string {
  const idp = idpEnded ? '<p id="idp-ended">You were also signed out at the identity provider, so signing in again asks for your credentials.</p>' : '';
  return page('Signed out', `<h1>You are signed out</h1><p>Your session here has ended and its cookie is gone.</p>${idp}${actions([{ href: '/auth/login?returnTo=%2F', label: 'Sign in again' }, { href: '/', label: 'Go to the home page' }])}`);
}
