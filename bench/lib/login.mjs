// A scripted browser, enough to sign in to every target: follows redirects with a cookie jar
// (per host name: as in browsers, ports share cookies), fills the Tessera dev IdP's form (username/password) and oidc-provider's dev
// interactions (login/password, then consent), and submits self-submitting forms.
import { request } from 'undici';

const decode = (s) => s.replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>');

function parseForm(html) {
  const m = /<form\b([^>]*)>([\s\S]*?)<\/form>/i.exec(html);
  if (!m) return undefined;
  const action = /action="([^"]*)"/i.exec(m[1])?.[1];
  const method = (/method="([^"]*)"/i.exec(m[1])?.[1] ?? 'GET').toUpperCase();
  const fields = {};
  for (const input of m[2].matchAll(/<input\b([^>]*)>/gi)) {
    const name = /name="([^"]*)"/i.exec(input[1])?.[1];
    if (!name) continue;
    fields[decode(name)] = decode(/value="([^"]*)"/i.exec(input[1])?.[1] ?? '');
  }
  return { action: action === undefined ? undefined : decode(action), method, fields };
}

export class Browser {
  #jar = new Map(); // host name → Map(name → value)

  cookieHeader(url) {
    const m = this.#jar.get(new URL(url).hostname);
    return m ? [...m].map(([n, v]) => `${n}=${v}`).join('; ') : '';
  }

  cookie(url, name) {
    return this.#jar.get(new URL(url).hostname)?.get(name);
  }

  #store(url, headers) {
    const origin = new URL(url).hostname;
    const m = this.#jar.get(origin) ?? new Map();
    let lines = headers['set-cookie'] ?? [];
    if (!Array.isArray(lines)) lines = [lines];
    for (const line of lines) {
      const [pair] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (value === '' || /max-age=0/i.test(line) || /expires=Thu, 01 Jan 1970/i.test(line)) m.delete(name);
      else m.set(name, value);
    }
    this.#jar.set(origin, m);
  }

  /** Opens `startUrl` and signs in as `user`; returns the final page. */
  async signIn(startUrl, { user = 'alice', password = user } = {}) {
    let url = startUrl;
    let method = 'GET';
    let body;
    for (let step = 0; step < 25; step++) {
      const headers = { accept: 'text/html', cookie: this.cookieHeader(url) };
      if (body !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
      const res = await request(url, { method, body, headers });
      this.#store(url, res.headers);
      const text = await res.body.text();
      if (res.statusCode >= 300 && res.statusCode < 400 && res.headers.location) {
        url = new URL(res.headers.location, url).href;
        method = 'GET';
        body = undefined;
        continue;
      }
      const form = res.statusCode === 200 ? parseForm(text) : undefined;
      if (form && form.action !== undefined && (/\/interaction\//.test(url) || /\/interaction\//.test(form.action) || /onload|\.submit\(\)/.test(text))) {
        const fields = { ...form.fields };
        if ('username' in fields || /name="username"/.test(text)) Object.assign(fields, { username: user, password });
        else if ('login' in fields || /name="login"/.test(text)) Object.assign(fields, { login: user, password });
        url = new URL(form.action, url).href;
        if (form.method === 'GET') {
          const target = new URL(url);
          for (const [k, v] of Object.entries(fields)) target.searchParams.set(k, v);
          url = target.href;
          method = 'GET';
          body = undefined;
        } else {
          method = 'POST';
          body = new URLSearchParams(fields).toString();
        }
        continue;
      }
      return { url, status: res.statusCode, text };
    }
    throw new Error(`sign-in at ${startUrl} did not finish within 25 steps`);
  }
}
