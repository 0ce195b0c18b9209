/**
 * Request-path spellings for the route-rule properties (test/routes): a fast-check generator of
 * paths over `public`, `admin`, dot and empty segments — percent-escapes of any letter (either hex
 * case), `%2e`, doubled slashes, `;` parameters, other-case letters, backslashes and encoded
 * slashes, tabs — and the readings an application may give the path it receives.
 */
import fc from 'fast-check';

// ---- how an upstream may read the path it receives -------------------------------------------

/** Percent-decodes every escape (bytes as latin1 characters; a malformed escape stays as written). */
export function percentDecode(path: string): string {
  return path.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/** Removes dot segments (RFC 3986 §5.2.4) and merges runs of "/". */
export function resolveDots(path: string): string {
  const out: string[] = [];
  const segments = path.split('/');
  for (let i = 1; i < segments.length; i += 1) {
    const segment = segments[i]!;
    const last = i === segments.length - 1;
    if (segment === '.' || segment === '..') {
      if (segment === '..') out.pop();
      if (last) out.push('');
      continue;
    }
    if (segment === '' && !last) continue;
    out.push(segment);
  }
  return `/${out.join('/')}`;
}

/** The readings of one received path (without its query) an upstream may apply. */
export const readings = {
  /** Byte for byte. */
  raw: (path: string) => path,
  /** Decoded, then dot segments resolved and slashes merged (node, Express, nginx, most frameworks). */
  decoded: (path: string) => resolveDots(percentDecode(path)),
  /** `;` parameters of every segment dropped first, then decoded and resolved (Tomcat, Jetty, Spring). */
  parameters: (path: string) => resolveDots(percentDecode(path.replace(/;[^/]*/g, ''))),
};

/** `path` is `prefix` or below it on a segment boundary (case-sensitive, as URI paths are). */
export const isUnder = (path: string, prefix: string) => path === prefix || path.startsWith(`${prefix}/`);

const unreserved = /^[A-Za-z0-9\-._~]$/;

/** Why `path` (as received upstream) is not in canonical form, or undefined when it is. */
export function nonCanonical(path: string): string | undefined {
  for (const m of path.matchAll(/%([0-9A-Fa-f]{2})/g)) {
    if (unreserved.test(String.fromCharCode(parseInt(m[1]!, 16)))) return `an encoded unreserved character ${m[0]}`;
    if (m[1] !== m[1]!.toUpperCase()) return `a lower-case escape ${m[0]}`;
  }
  const segments = path.split('/').slice(1);
  if (segments.some((s, i) => s === '' && i < segments.length - 1)) return 'an empty segment ("//")';
  if (segments.some((s) => s === '.' || s === '..')) return 'a dot segment';
  if ([...path].some((c) => c === '\\' || c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f)) return 'a backslash or control character';
  return undefined;
}

// ---- spellings -------------------------------------------------------------------------------

const hex = (c: string) => c.charCodeAt(0).toString(16).padStart(2, '0');

/** How one character of a segment is written. */
type CharSpelling = 'literal' | 'other-case' | 'escape-lower' | 'escape-upper';

function spellChar(c: string, how: CharSpelling): string {
  switch (how) {
    case 'literal': return c;
    case 'other-case': return c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase();
    case 'escape-lower': return `%${hex(c).toLowerCase()}`;
    case 'escape-upper': return `%${hex(c).toUpperCase()}`;
  }
}

export interface SegmentPlan {
  name: string;
  chars: CharSpelling[];
  param: string;
  separator: string;
}

/** Separators a server may read as one "/" (with dot segments: `/%2E%2e/` is `/../`). */
const separators = ['/', '/', '/', '/', '/', '//', '///', '/./', '/%2e/', '/%2E/', '/.%2e/', '/%2e%2E/', '/../'];
/** What the gateway must refuse: an encoded or backslashed "/". */
const poisonSeparators = ['\\', '/\\', '\\/', '%2f', '%2F', '%5c', '%5C', '/%2f', '/%5C/'];

export interface SpellingOptions {
  /** `;` path parameters on segments (`/public;x=1`, `/;/admin`). */
  params: boolean;
  /** Other-case spellings (`/ADMIN`, `/pUblic`). */
  caseVariants: boolean;
}

/** A segment's spelling. */
const segmentPlan = (o: SpellingOptions): fc.Arbitrary<SegmentPlan> => fc.record({
  name: o.caseVariants
    ? fc.constantFrom('public', 'public', 'admin', 'admin', 'admin', 'x', '.', '..', '..', '', 'ADMIN', 'Public', 'admin ', 'publicity')
    : fc.constantFrom('public', 'public', 'admin', 'admin', 'admin', 'x', '.', '..', '..', '', 'admin ', 'publicity'),
  chars: fc.array(o.caseVariants
    ? fc.constantFrom<CharSpelling>('literal', 'literal', 'literal', 'literal', 'other-case', 'escape-lower', 'escape-upper')
    : fc.constantFrom<CharSpelling>('literal', 'literal', 'literal', 'literal', 'escape-lower', 'escape-upper'), { minLength: 9, maxLength: 9 }),
  param: o.params ? fc.constantFrom('', '', '', ';', ';x=1', ';jsessionid=A1', ';/') : fc.constant(''),
  separator: fc.constantFrom(...separators),
});

export interface RequestPlan {
  segments: SegmentPlan[];
  /** One separator replaced by an encoded or backslashed "/", if any. */
  poison: { at: number; separator: string } | null;
  /** Where to insert a tab (raw or encoded), if anywhere. */
  tab: { at: number; raw: boolean } | null;
  query: string;
  who: 'bob' | 'anonymous';
  api: boolean;
}

/** `arb` once in `n` times, null otherwise. */
const sometimes = <T>(arb: fc.Arbitrary<T>, n: number): fc.Arbitrary<T | null> =>
  fc.oneof({ weight: n - 1, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: arb });

/** Spellings of paths made of public, admin, dot and empty segments, with escapes, odd separators, tabs and queries. */
export const requestPlan = (o: SpellingOptions): fc.Arbitrary<RequestPlan> => fc.record({
  segments: fc.array(segmentPlan(o), { minLength: 1, maxLength: 5 }),
  poison: sometimes(fc.record({ at: fc.nat(10), separator: fc.constantFrom(...poisonSeparators) }), 6),
  tab: sometimes(fc.record({ at: fc.nat(40), raw: fc.boolean() }), 12),
  query: fc.constantFrom('', '', '', '?q=1', '?next=/admin/../admin', '?x=%2e%2e%2fadmin', '?;x=/admin'),
  who: fc.constantFrom<'bob' | 'anonymous'>('bob', 'bob', 'bob', 'anonymous'),
  api: fc.boolean(),
});

export function targetOf(plan: RequestPlan): string {
  let path = plan.segments.map((s, index) => {
    const name = [...s.name].map((c, i) => (c === ' ' ? '%20' : spellChar(c, s.chars[i % s.chars.length]!))).join('');
    const poisoned = plan.poison !== null && plan.poison.at % plan.segments.length === index;
    return (poisoned ? plan.poison!.separator : s.separator) + name + s.param;
  }).join('');
  if (!path.startsWith('/')) path = `/${path}`;
  if (plan.tab !== null) {
    const at = 1 + (plan.tab.at % path.length);
    path = path.slice(0, at) + (plan.tab.raw ? '\t' : '%09') + path.slice(at);
  }
  return path + plan.query;
}

/** A plan for a target given as written (the known attack spellings). */
export const fixed = (target: string, who: RequestPlan['who'] = 'bob', api = false): RequestPlan => ({
  segments: [{ name: '', chars: ['literal'], param: '', separator: target }], poison: null, tab: null, query: '', who, api,
});

/** Known attack spellings without `;` parameters. */
export const knownSpellings = [
  '/public/../admin', '/public/%2e%2e/admin', '/public/%2E%2E/admin', '/public/..%2fadmin', '/public/..%2Fadmin',
  '/public/.%2e/admin', '/public/%2e./admin', '/public\\..\\admin', '/public/..\\admin', '/public/%5c../admin',
  '//admin', '/./admin', '/%61dmin', '/%61%64%6d%69%6e/', '/public/\t../admin', '/public/%09/../admin', '/public/%00/../admin',
  '/admin/%2e%2e/public', '/admin/..%2fpublic', '/public/%2e%2e%2f%2e%2e/admin', '/public/%252e%252e/admin',
];

/** Known attack spellings with `;` parameters (path parameters, Tomcat's `..;`). */
export const knownParamSpellings = [
  '/public/..;/admin', '/public;/../admin', '/public/%2e%2e;/admin', '/admin;x=1', '/admin;/x',
  '/;/admin', '/;x=1/admin', '//;jsessionid=A1/admin/x', '/public/../;x/admin', '/public/x/../../;/admin',
  '/public;x=1', '/public;/x', '/public;jsessionid=A1/page',
];
