// Pure helpers of the build and log pages (kept here, in the build helper's folder).

export interface Person {
  name: string;
  email: string | null;
  roles: string[]; // 'author', 'owner'
}

/** `Jane Doe <jane@example.org>` → {name, email}; a bare address or name works too. */
export function parseAuthor(s: string | null | undefined): { name: string; email: string | null } {
  const text = (s ?? '').trim();
  const m = /^(.*?)\s*<([^<>\s]+@[^<>\s]+)>\s*$/.exec(text);
  if (m) return { name: m[1].trim() || m[2], email: m[2] };
  if (/^[^\s@<>]+@[^\s@<>]+$/.test(text)) return { name: text, email: text };
  return { name: text, email: null };
}

/** Authors of the changes plus the owner(s) of the build, each person once. */
export function responsibleUsers(
  changes: Array<{ author?: string | null }>,
  properties: Record<string, [unknown, string]> | null | undefined,
): Person[] {
  const out: Person[] = [];
  const add = (raw: unknown, role: string) => {
    if (typeof raw !== 'string' || !raw.trim()) return;
    const p = parseAuthor(raw);
    const key = (p.email ?? p.name).toLowerCase();
    const found = out.find((x) => (x.email ?? x.name).toLowerCase() === key || x.name.toLowerCase() === p.name.toLowerCase());
    if (found) {
      if (!found.roles.includes(role)) found.roles.push(role);
      if (!found.email && p.email) found.email = p.email;
      return;
    }
    out.push({ ...p, roles: [role] });
  };
  for (const c of changes) add(c.author, 'author');
  const owner = properties?.owner?.[0];
  if (owner !== undefined) add(owner, 'owner');
  const owners = properties?.owners?.[0];
  if (Array.isArray(owners)) for (const o of owners) add(o, 'owner');
  return out;
}

/** Only http(s), mailto and relative URLs are turned into links (no `javascript:`). */
export function safeUrl(url: string | null | undefined): string | null {
  if (!url) return null;
  const u = url.trim();
  if (/^(https?:|mailto:)/i.test(u)) return u;
  if (/^[a-z][a-z0-9+.-]*:/i.test(u)) return null;
  return u;
}

/** A property value as text: strings as they are, everything else as JSON. */
export function propertyText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === undefined) return '';
  try {
    return JSON.stringify(v);
  } catch {
    return String(v);
  }
}

export interface StepLike {
  stepid: number;
  number: number;
  started_at?: number | null;
  complete: boolean;
  results?: number | null;
  hidden?: boolean;
}

export function isRunning(s: StepLike): boolean {
  return !s.complete && s.started_at !== null && s.started_at !== undefined;
}

/** Steps shown expanded by default: the running ones and the first failed one. */
export function defaultExpanded(steps: StepLike[]): Set<number> {
  const out = new Set<number>();
  for (const s of steps) if (isRunning(s)) out.add(s.stepid);
  const failed = steps.find((s) => s.complete && (s.results === 2 || s.results === 4));
  if (failed) out.add(failed.stepid);
  return out;
}

/** Props after a `properties/update` event (whose body holds only the changed ones). */
export function mergeProperties(
  cur: Record<string, [unknown, string]> | null,
  upd: Record<string, [unknown, string]> | null | undefined,
): Record<string, [unknown, string]> | null {
  if (!upd || typeof upd !== 'object') return cur;
  return { ...(cur ?? {}), ...upd };
}

/** Last `n` lines' fetch range for a log of `numLines` lines. */
export function tailRange(numLines: number, n: number): { offset: number; limit: number } {
  const offset = Math.max(0, numLines - n);
  return { offset, limit: Math.max(0, numLines - offset) };
}

/** The log page path of a log. */
export function logPath(builderid: number | string, buildnumber: number | string, stepnumber: number, slug: string): string {
  return `/builders/${builderid}/builds/${buildnumber}/steps/${stepnumber}/logs/${encodeURIComponent(slug)}`;
}
