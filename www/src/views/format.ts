/** First line of a commit message. */
export function firstLine(text: string | null | undefined): string {
  if (!text) return '';
  const i = text.indexOf('\n');
  return (i < 0 ? text : text.slice(0, i)).trim();
}

/** Abbreviated revision: 12 chars for hashes, unchanged for short revisions. */
export function shortRev(rev: string | null | undefined): string {
  if (!rev) return '';
  return /^[0-9a-f]{20,}$/i.test(rev) ? rev.slice(0, 12) : rev;
}

/** "Name <email>" → {name, email}. */
export function parseAuthor(author: string | null | undefined): { name: string; email: string | null } {
  if (!author) return { name: '', email: null };
  const m = /^\s*(.*?)\s*<([^>]+)>\s*$/.exec(author);
  if (m) return { name: m[1] || m[2], email: m[2] };
  if (/^[^\s@]+@[^\s@]+$/.test(author.trim())) return { name: author.trim(), email: author.trim() };
  return { name: author.trim(), email: null };
}

/** Values of a props object {name: [value, source]} rendered as text. */
export function propText(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  return JSON.stringify(v);
}

/** Epoch seconds → local date/time text. */
export function formatTime(epoch: number | null | undefined): string {
  if (!epoch) return '';
  return new Date(epoch * 1000).toLocaleString();
}

/** Duration in seconds → "1h 2m", "3m 4s", "5s". */
export function formatDuration(secs: number): string {
  secs = Math.max(0, Math.round(secs));
  const h = Math.floor(secs / 3600);
  const m = Math.floor((secs % 3600) / 60);
  const s = secs % 60;
  if (h) return `${h}h ${m}m`;
  if (m) return `${m}m ${s}s`;
  return `${s}s`;
}
