import { signal, computed } from '@preact/signals';
import { h, type ComponentChildren, type JSX } from 'preact';

export interface Route {
  path: string;
  params: Record<string, string>;
  query: Record<string, string>;
}

/** Splits a hash (`#/builders/3?tags=a`) into a path and its query. */
export function parseHash(hash: string): { path: string; query: Record<string, string> } {
  let h = hash.startsWith('#') ? hash.slice(1) : hash;
  if (h.startsWith('!')) h = h.slice(1); // old angular-style "#!/" links
  const qi = h.indexOf('?');
  let path = qi >= 0 ? h.slice(0, qi) : h;
  const qs = qi >= 0 ? h.slice(qi + 1) : '';
  if (!path.startsWith('/')) path = '/' + path;
  if (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1);
  const query: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(qs)) query[k] = v;
  return { path, query };
}

/** Matches `/builders/:builderid` against a path; null when it does not match. */
export function matchPattern(pattern: string, path: string): Record<string, string> | null {
  const ps = pattern.split('/').filter(Boolean);
  const xs = path.split('/').filter(Boolean);
  if (ps.length !== xs.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < ps.length; i++) {
    if (ps[i].startsWith(':')) params[ps[i].slice(1)] = decodeURIComponent(xs[i]);
    else if (ps[i] !== xs[i]) return null;
  }
  return params;
}

let patterns: string[] = [];

/** The route table's patterns, so `route.params` can be filled (set by the app). */
export function setPatterns(p: string[]): void {
  patterns = p;
  hash.value++; // recompute the params
}

function currentHash(): string {
  return typeof location !== 'undefined' ? location.hash : '';
}

const rawHash = signal(currentHash());
const hash = signal(0);

export function findRoute(path: string): { pattern: string | null; params: Record<string, string> } {
  for (const p of patterns) {
    const params = matchPattern(p, path);
    if (params) return { pattern: p, params };
  }
  return { pattern: null, params: {} };
}

/** The current route; updates on every hash change. */
export const route = computed<Route & { pattern: string | null }>(() => {
  void hash.value;
  const { path, query } = parseHash(rawHash.value);
  const { pattern, params } = findRoute(path);
  return { path, query, params, pattern };
});

if (typeof window !== 'undefined') {
  window.addEventListener('hashchange', () => {
    rawHash.value = currentHash();
  });
}

/** `#/...` link target for an app path (`/builders/3`). */
export function href(to: string): string {
  if (to.startsWith('#')) return to;
  return '#' + (to.startsWith('/') ? to : '/' + to);
}

export function navigate(to: string, opts: { replace?: boolean } = {}): void {
  const target = href(to);
  if (opts.replace) history.replaceState(history.state, '', target);
  else if (location.hash !== target) history.pushState(history.state, '', target);
  rawHash.value = currentHash();
}

/** Builds a query string (`?a=1&b=x`) from an object, skipping empty values. */
export function queryString(q: Record<string, string | number | boolean | null | undefined>): string {
  const sp = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) {
    if (v === undefined || v === null || v === '' || v === false) continue;
    sp.set(k, String(v));
  }
  const s = sp.toString();
  return s ? '?' + s : '';
}

/** Replaces the current route's query (keeps the path). */
export function setQuery(q: Record<string, string | number | boolean | null | undefined>, replace = true): void {
  navigate(route.value.path + queryString(q), { replace });
}

export function Link(
  props: { to: string; children?: ComponentChildren } & Omit<JSX.HTMLAttributes<HTMLAnchorElement>, 'href'>,
) {
  const { to, children, ...rest } = props;
  return h('a', { ...rest, href: href(to) }, children);
}

/** A page may give a more precise title (e.g. the builder's name) for its path. */
export const pageTitle = signal<{ path: string; title: string } | null>(null);

export function setPageTitle(title: string): void {
  const path = route.peek().path;
  const cur = pageTitle.peek();
  if (!cur || cur.path !== path || cur.title !== title) pageTitle.value = { path, title };
}
