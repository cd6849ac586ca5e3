// Search in a log: case-insensitive substring matches on the text without escape sequences.
// A search over a large log walks it chunk by chunk (fetching what is not cached), reporting
// matches as it goes, and can be cancelled.

import { stripAnsi, type Span } from './ansi';
import type { LogLoader } from './chunks';
import type { LogLine } from './lines';

export interface Match {
  line: number;
  start: number;
  end: number;
}

export const MAX_MATCHES = 10_000;

/** [start, end) ranges of `needle` (already lower-cased) in `text`, non-overlapping. */
export function findAll(text: string, needle: string): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  if (!needle) return out;
  const hay = text.toLowerCase();
  let i = hay.indexOf(needle);
  while (i >= 0) {
    out.push([i, i + needle.length]);
    i = hay.indexOf(needle, i + needle.length);
  }
  return out;
}

export function matchLines(lines: LogLine[], firstLine: number, needle: string): Match[] {
  const out: Match[] = [];
  const n = needle.toLowerCase();
  lines.forEach((l, i) => {
    for (const [start, end] of findAll(stripAnsi(l.text), n)) {
      out.push({ line: firstLine + i, start, end });
    }
  });
  return out;
}

/**
 * Split spans at highlight ranges (offsets into the concatenated span text). Highlighted
 * pieces get `hlClass` appended to their class; the range at `currentIndex` gets `curClass`.
 */
export function highlightSpans(
  spans: Span[],
  ranges: Array<[number, number]>,
  currentIndex = -1,
  hlClass = 'log-match',
  curClass = 'log-match-current',
): Span[] {
  if (!ranges.length) return spans;
  const out: Span[] = [];
  let pos = 0;
  for (const sp of spans) {
    const spStart = pos;
    const spEnd = pos + sp.text.length;
    pos = spEnd;
    // cut points inside this span
    let cursor = spStart;
    ranges.forEach(([rs, re], ri) => {
      const s = Math.max(rs, spStart);
      const e = Math.min(re, spEnd);
      if (s >= e) return;
      if (s > cursor) out.push({ ...sp, text: sp.text.slice(cursor - spStart, s - spStart) });
      const extra = ri === currentIndex ? `${hlClass} ${curClass}` : hlClass;
      out.push({
        ...sp,
        text: sp.text.slice(s - spStart, e - spStart),
        cls: sp.cls ? `${sp.cls} ${extra}` : extra,
      });
      cursor = e;
    });
    if (cursor < spEnd) out.push({ ...sp, text: sp.text.slice(cursor - spStart) });
  }
  return out;
}

/** Index of the first match at or after `line` (wrapping to 0), or -1 when there is none. */
export function matchIndexFrom(matches: Match[], line: number): number {
  if (!matches.length) return -1;
  let lo = 0;
  let hi = matches.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (matches[mid].line < line) lo = mid + 1;
    else hi = mid;
  }
  return lo < matches.length ? lo : 0;
}

export interface SearchProgress {
  matches: Match[];
  scannedLines: number;
  done: boolean;
  truncated: boolean;
}

/** Walk the log chunk by chunk; `onProgress` after each chunk. Returns a cancel function. */
export function searchLog(
  loader: LogLoader,
  needle: string,
  keep: () => Set<number>,
  onProgress: (p: SearchProgress) => void,
): () => void {
  let cancelled = false;
  const matches: Match[] = [];
  const run = async () => {
    const cache = loader.cache;
    const chunks = Math.ceil(cache.totalLines / cache.chunkSize);
    let scanned = 0;
    for (let c = 0; c < chunks && !cancelled; c++) {
      const lines = await loader.chunkLines(c, keep());
      if (cancelled) return;
      for (const m of matchLines(lines, c * cache.chunkSize, needle)) {
        if (matches.length >= MAX_MATCHES) break;
        matches.push(m);
      }
      scanned = c * cache.chunkSize + lines.length;
      const truncated = matches.length >= MAX_MATCHES;
      const done = truncated || c === chunks - 1;
      onProgress({ matches: matches.slice(), scannedLines: scanned, done, truncated });
      if (truncated) return;
    }
    if (chunks === 0 && !cancelled) {
      onProgress({ matches: [], scannedLines: 0, done: true, truncated: false });
    }
  };
  run().catch(() => {
    if (!cancelled) onProgress({ matches, scannedLines: 0, done: true, truncated: false });
  });
  return () => {
    cancelled = true;
  };
}
