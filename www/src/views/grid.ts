import type { Buildset } from './types';

/** Branches named by any sourcestamp of the buildsets, sorted, without duplicates. */
export function branchesOf(buildsets: Buildset[]): string[] {
  const s = new Set<string>();
  for (const bs of buildsets) for (const ss of bs.sourcestamps ?? []) if (ss.branch) s.add(ss.branch);
  return [...s].sort();
}

/**
 * Grid columns: the newest `limit` buildsets (newest first) whose sourcestamps include
 * `branch` (all when branch is empty).
 */
export function gridColumns(buildsets: Buildset[], branch: string, limit: number): Buildset[] {
  return buildsets
    .filter((bs) => !branch || (bs.sourcestamps ?? []).some((ss) => ss.branch === branch))
    .sort((a, b) => b.bsid - a.bsid)
    .slice(0, limit);
}

/** Short caption of a buildset column: its revision(s), else its id (the reason goes in the tooltip). */
export function columnCaption(bs: Buildset): string {
  const revs = (bs.sourcestamps ?? []).map((ss) => ss.revision).filter((r): r is string => !!r);
  if (revs.length) return revs.map((r) => (/^[0-9a-f]{20,}$/i.test(r) ? r.slice(0, 8) : r)).join(' ');
  return `#${bs.bsid}`;
}
