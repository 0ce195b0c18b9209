/**
 * The few HTML pages of the dev IdP: self-contained (no external resources), every echoed
 * value escaped.
 */
import { escapeHtml } from '../lib/html.js';
const style = `body{font-family:system-ui,sans-serif;background:#f4f5f7;margin:0;padding:40px 16px;color:#1d2330}
main{max-width:360px;margin:0 auto;background:#fff;border-radius:8px;padding:24px 28px;box-shadow:0 1px 3px rgba(0,0,0,.15)}
h1{font-size:1.3em;margin:0 0 4px}p.note{color:#666;font-size:.85em;margin:0 0 16px}
label{display:block;margin:12px 0 4px;font-size:.9em}input{width:100%;box-sizing:border-box;padding:8px;font-size:1em}
button{margin-top:16px;width:100%;padding:10px;font-size:1em;background:#2459d6;color:#fff;border:0;border-radius:4px;cursor:pointer}
button.secondary{background:#e4e7ec;color:#1d2330}.error{background:#fde8e8;color:#8a1c1c;padding:8px;border-radius:4px;margin:12px 0}
pre{white-space:pre-wrap;word-break:break-word}`;

/** A complete page; `body` must already be safe HTML. */
export function page(title: string, body: string, options: { head?: string } = {}): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${escapeHtml(title)}</title>
<style>${style}</style>${options.head ?? ''}
</head>
<body>
<main>
${body}
<p class="note">Tessera development identity provider: for development and tests only.</p>
</main>
</body>
</html>`;
}

export function errorBlock(message: string | undefined): string {
  return message === undefined ? '' : `<p class="error" role="alert">${escapeHtml(message)}</p>`;
}
