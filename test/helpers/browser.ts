import { request as undiciRequest } from 'undici';

/**
 * A scripted browser for tests: `fetch` with a cookie jar, redirect following, and form
 * submission (login forms, one-time-code forms, self-submitting forms). No JavaScript is run; a
 * page whose script only submits its form is submitted as a browser would.
 *
 *   const browser = new Browser();
 *   const page = await browser.signIn(authorizeUrl, {
 *     username: 'alice', password: 'alice',
 *     stopAt: (url) => url.pathname === '/auth/callback',
 *   });
 *   page.url // http://localhost:3000/auth/callback?code=…&state=…
 */

export interface Page {
  /** The URL of the page, or of the request that was not made because `stopAt` matched. */
  url: string;
  /** HTTP status; 0 when stopped before the request. */
  status: number;
  headers: Headers;
  text: string;
  /** True when navigation stopped at a URL matched by `stopAt` (that request was not made). */
  stopped: boolean;
}

export interface NavigateOptions {
  method?: string;
  /** Form fields (sent as application/x-www-form-urlencoded) or a raw body. */
  form?: Record<string, string> | URLSearchParams;
  headers?: Record<string, string>;
  /** Do not request URLs for which this returns true (e.g. an app's callback that is not running). */
  stopAt?: (url: URL) => boolean;
  maxRedirects?: number;
}

export interface Form {
  action: string;
  method: string;
  /** Fields with their current values (inputs, textareas; submit buttons excluded). */
  fields: Record<string, string>;
}

export interface SignInOptions {
  username: string;
  password: string;
  /** Answer for a one-time-code form (an input named `otp`), if one appears. */
  otp?: string;
  stopAt?: (url: URL) => boolean;
  /** Upper bound on pages visited. */
  maxSteps?: number;
}

interface StoredCookie {
  name: string;
  value: string;
  path: string;
  expires: number | undefined;
  secure: boolean;
}

const loopback = new Set(['localhost', '127.0.0.1', '[::1]']);

/** Cookies per host name (ports share cookies, as in browsers), with path and expiry. */
export class CookieJar {
  readonly #hosts = new Map<string, StoredCookie[]>();

  /** Stores the `Set-Cookie` headers of a response to `url`. */
  store(url: string | URL, headers: Headers): void {
    const target = new URL(url);
    for (const line of headers.getSetCookie()) this.#storeOne(target, line);
  }

  /** The `Cookie` header value for a request to `url` (empty string when none). */
  header(url: string | URL): string {
    const target = new URL(url);
    const now = Date.now();
    const cookies = (this.#hosts.get(target.hostname) ?? []).filter((c) =>
      (c.expires === undefined || c.expires > now)
      && pathMatches(target.pathname, c.path)
      && (!c.secure || target.protocol === 'https:' || loopback.has(target.hostname)));
    // Longer paths first, as browsers send them.
    cookies.sort((a, b) => b.path.length - a.path.length);
    return cookies.map((c) => `${c.name}=${c.value}`).join('; ');
  }

  /** The value of a cookie for `url`, or `undefined`. */
  get(name: string, url: string | URL): string | undefined {
    for (const pair of this.header(url).split('; ')) {
      const i = pair.indexOf('=');
      if (i > 0 && pair.slice(0, i) === name) return pair.slice(i + 1);
    }
    return undefined;
  }

  /** All stored cookie names for a host (for assertions). */
  names(hostname: string): string[] {
    return (this.#hosts.get(hostname) ?? []).map((c) => c.name);
  }

  clear(): void {
    this.#hosts.clear();
  }

  #storeOne(target: URL, line: string): void {
    const [pair = '', ...attributes] = line.split(';');
    const eq = pair.indexOf('=');
    if (eq <= 0) return;
    const name = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    let path = defaultPath(target.pathname);
    let expires: number | undefined;
    let secure = false;
    let maxAgeSeen = false;
    for (const attribute of attributes) {
      const [rawKey = '', ...rest] = attribute.split('=');
      const key = rawKey.trim().toLowerCase();
      const attrValue = rest.join('=').trim();
      if (key === 'path' && attrValue.startsWith('/')) path = attrValue;
      else if (key === 'max-age' && /^-?\d+$/.test(attrValue)) {
        maxAgeSeen = true;
        expires = Date.now() + Number(attrValue) * 1000;
      } else if (key === 'expires' && !maxAgeSeen) {
        const time = Date.parse(attrValue);
        if (!Number.isNaN(time)) expires = time;
      } else if (key === 'secure') secure = true;
    }
    const list = (this.#hosts.get(target.hostname) ?? []).filter((c) => !(c.name === name && c.path === path));
    if (expires === undefined || expires > Date.now()) list.push({ name, value, path, expires, secure });
    this.#hosts.set(target.hostname, list);
  }
}

function defaultPath(pathname: string): string {
  const i = pathname.lastIndexOf('/');
  return i <= 0 ? '/' : pathname.slice(0, i);
}

function pathMatches(requestPath: string, cookiePath: string): boolean {
  if (requestPath === cookiePath) return true;
  if (!requestPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith('/') || requestPath[cookiePath.length] === '/';
}

const entities: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'", '#x27': "'", '#96': '`', apos: "'" };
function decodeEntities(value: string): string {
  return value.replace(/&(#?\w+);/g, (m, e: string) => entities[e] ?? m);
}

function attributesOf(tag: string): Record<string, string> {
  const attributes: Record<string, string> = {};
  for (const m of tag.matchAll(/([^\s=<>/"']+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>"']+)))?/g)) {
    const name = (m[1] ?? '').toLowerCase();
    attributes[name] = decodeEntities(m[2] ?? m[3] ?? m[4] ?? '');
  }
  return attributes;
}

/** The forms of an HTML page, with absolute actions. */
export function parseForms(html: string, pageUrl: string): Form[] {
  const forms: Form[] = [];
  for (const m of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const attributes = attributesOf(m[1] ?? '');
    const fields: Record<string, string> = {};
    for (const input of (m[2] ?? '').matchAll(/<input\b([^>]*)>/gi)) {
      const a = attributesOf(input[1] ?? '');
      const type = (a.type ?? 'text').toLowerCase();
      if (a.name === undefined || ['submit', 'button', 'image', 'reset'].includes(type)) continue;
      if ((type === 'checkbox' || type === 'radio') && !('checked' in a)) continue;
      fields[a.name] = a.value ?? '';
    }
    for (const area of (m[2] ?? '').matchAll(/<textarea\b([^>]*)>([\s\S]*?)<\/textarea>/gi)) {
      const a = attributesOf(area[1] ?? '');
      if (a.name !== undefined) fields[a.name] = decodeEntities(area[2] ?? '');
    }
    forms.push({
      action: new URL(attributes.action ?? pageUrl, pageUrl).href,
      method: (attributes.method ?? 'get').toUpperCase(),
      fields,
    });
  }
  return forms;
}

/** A page whose only script submits its (first) form, as form_post responses and logout pages do. */
export function isSelfSubmitting(page: Page): boolean {
  return /<script[^>]*>[^<]*\.submit\(\)[^<]*<\/script>/i.test(page.text) && parseForms(page.text, page.url).length > 0;
}

export class Browser {
  readonly jar = new CookieJar();
  /** Every URL requested, in order (for tests about where a flow went). */
  readonly history: string[] = [];
  /** The `User-Agent` every request sends (none unless given). */
  readonly userAgent: string | undefined;

  constructor(options: { userAgent?: string } = {}) {
    this.userAgent = options.userAgent;
  }

  /** One request with the jar's cookies; redirects are not followed. */
  async request(url: string, options: NavigateOptions = {}): Promise<Page> {
    const method = options.method ?? (options.form ? 'POST' : 'GET');
    // As a browser navigation: fetch would otherwise say `sec-fetch-mode: cors`, which marks an API call.
    const headers = new Headers({ accept: 'text/html,application/xhtml+xml', 'sec-fetch-mode': 'navigate', ...(this.userAgent ? { 'user-agent': this.userAgent } : {}), ...options.headers });
    this.history.push(url);
    const cookie = this.jar.header(url);
    if (cookie) headers.set('cookie', cookie);
    let body: URLSearchParams | undefined;
    if (options.form !== undefined) {
      body = options.form instanceof URLSearchParams ? options.form : new URLSearchParams(options.form);
      headers.set('content-type', 'application/x-www-form-urlencoded');
    }
    // undici's request, not fetch: fetch always sends `sec-fetch-mode: cors`, unlike a browser navigation.
    const init = { method, headers: Object.fromEntries(headers), body: body?.toString() };
    // A reused keep-alive connection can be closed by the server just as the request goes out; a
    // browser then retries once on a new connection, and so does this one.
    const response = await undiciRequest(url, init).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNRESET' || err.code === 'UND_ERR_SOCKET') return undiciRequest(url, init);
      throw err;
    });
    const responseHeaders = new Headers();
    for (const [name, value] of Object.entries(response.headers)) {
      for (const v of Array.isArray(value) ? value : [value]) if (v !== undefined) responseHeaders.append(name, v);
    }
    this.jar.store(url, responseHeaders);
    return { url, status: response.statusCode, headers: responseHeaders, text: await response.body.text(), stopped: false };
  }

  /** Requests `url` and follows redirects (303/302/301 become GET; 307/308 keep the method). */
  async navigate(url: string, options: NavigateOptions = {}): Promise<Page> {
    let current = url;
    let method = options.method ?? (options.form ? 'POST' : 'GET');
    let form = options.form;
    for (let i = 0; i <= (options.maxRedirects ?? 20); i += 1) {
      if (options.stopAt?.(new URL(current))) {
        return { url: current, status: 0, headers: new Headers(), text: '', stopped: true };
      }
      const page = await this.request(current, { ...options, method, form });
      const location = page.headers.get('location');
      if (page.status < 300 || page.status >= 400 || location === null) return page;
      current = new URL(location, current).href;
      if (page.status !== 307 && page.status !== 308) {
        method = 'GET';
        form = undefined;
      }
    }
    throw new Error(`too many redirects starting at ${url}`);
  }

  /** Submits a form of `page`: the first one having all `values` fields (or the first form). */
  async submit(page: Page, values: Record<string, string> = {}, options: Omit<NavigateOptions, 'form' | 'method'> = {}): Promise<Page> {
    const forms = parseForms(page.text, page.url);
    const names = Object.keys(values);
    const form = forms.find((f) => names.every((n) => n in f.fields)) ?? (names.length === 0 ? forms[0] : undefined);
    if (form === undefined) throw new Error(`no form with fields ${names.join(', ')} on ${page.url} (status ${page.status})`);
    const fields = { ...form.fields, ...values };
    if (form.method === 'GET') {
      const target = new URL(form.action);
      for (const [k, v] of Object.entries(fields)) target.searchParams.set(k, v);
      return this.navigate(target.href, options);
    }
    return this.navigate(form.action, { ...options, method: 'POST', form: fields });
  }

  /**
   * Opens `startUrl` and goes through a login: fills a form with a `password` field once, a form
   * with an `otp` field once (when `otp` is given), and submits self-submitting forms. Returns
   * the first page that needs none of these (or where `stopAt` matched).
   */
  async signIn(startUrl: string, options: SignInOptions): Promise<Page> {
    const { stopAt } = options;
    let page = await this.navigate(startUrl, { stopAt });
    let passwordSent = false;
    let otpSent = false;
    for (let step = 0; step < (options.maxSteps ?? 10); step += 1) {
      if (page.stopped) return page;
      const forms = parseForms(page.text, page.url);
      if (!passwordSent && forms.some((f) => 'password' in f.fields)) {
        passwordSent = true;
        page = await this.submit(page, { username: options.username, password: options.password }, { stopAt });
      } else if (!otpSent && options.otp !== undefined && forms.some((f) => 'otp' in f.fields)) {
        otpSent = true;
        page = await this.submit(page, { otp: options.otp }, { stopAt });
      } else if (isSelfSubmitting(page)) {
        page = await this.submit(page, {}, { stopAt });
      } else {
        return page;
      }
    }
    throw new Error(`sign-in did not finish in ${options.maxSteps ?? 10} steps (last page ${page.url})`);
  }

  /** Opens `url`, submitting self-submitting forms (e.g. a logout confirmation) along the way. */
  async follow(url: string, options: Omit<NavigateOptions, 'form' | 'method'> = {}): Promise<Page> {
    let page = await this.navigate(url, options);
    for (let step = 0; step < 5 && !page.stopped && isSelfSubmitting(page); step += 1) {
      page = await this.submit(page, {}, options);
    }
    return page;
  }
}
