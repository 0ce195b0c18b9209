/** Tessera's own small HTML pages: self-contained, no third-party resources. */

import { escapeHtml } from '../lib/html.js';

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${escapeHtml(title)}</title><style>body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#222}h1{font-size:1.4rem}a,button{font:inherit}button{padding:.4rem 1rem}</style></head><body>${body}</body></html>`;
}

export function messagePage(title: string, message: string, action?: { href: string; label: string }): string {
  const link = action ? `<p><a href="${escapeHtml(action.href)}">${escapeHtml(action.label)}</a></p>` : '';
  return page(title, `<h1>${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p>${link}`);
}

export function logoutFormPage(csrfToken: string): string {
  return page('Sign out', `<h1>Sign out?</h1><form method="post" action="/auth/logout"><input type="hidden" name="csrf" value="${escapeHtml(csrfToken)}"><button type="submit">Sign out</button></form>`);
}
