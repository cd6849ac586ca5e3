import type { Builder, Buildset, Change } from './types';
import type { Cell } from './chain';

const ssKey = (repository: string, codebase: string, revision: string | null) =>
  `${repository}\u0000${codebase}\u0000${revision ?? ''}`;

/**
 * change → buildsets that built it. A buildset matches when one of its sourcestamps is the
 * change's sourcestamp (same ssid) or, failing that, names the same revision of the same
 * repository/codebase (a scheduler may have created an equivalent sourcestamp row).
 */
export function buildsetsForChanges(changes: Change[], buildsets: Buildset[]): Map<number, number[]> {
  const bySsid = new Map<number, number[]>();
  const byRev = new Map<string, number[]>();
  for (const bs of buildsets) {
    for (const ss of bs.sourcestamps ?? []) {
      push(bySsid, ss.ssid, bs.bsid);
      if (ss.revision) push(byRev, ssKey(ss.repository, ss.codebase, ss.revision), bs.bsid);
    }
  }
  const out = new Map<number, number[]>();
  for (const c of changes) {
    const ids = new Set<number>(bySsid.get(c.sourcestamp?.ssid) ?? []);
    if (!ids.size && c.revision) for (const id of byRev.get(ssKey(c.repository, c.codebase, c.revision)) ?? []) ids.add(id);
    out.set(c.changeid, [...ids].sort((a, b) => a - b));
  }
  return out;
}

function push<K>(m: Map<K, number[]>, k: K, v: number) {
  const l = m.get(k);
  if (l) {
    if (!l.includes(v)) l.push(v);
  } else m.set(k, [v]);
}

/** change → builderid → cells (requests with their builds) over all the change's buildsets. */
export function consoleMatrix(
  changes: Change[],
  changeBuildsets: Map<number, number[]>,
  cells: Map<number, Map<number, Cell[]>>,
): Map<number, Map<number, Cell[]>> {
  const out = new Map<number, Map<number, Cell[]>>();
  for (const c of changes) {
    const row = new Map<number, Cell[]>();
    for (const bsid of changeBuildsets.get(c.changeid) ?? []) {
      for (const [builderid, list] of cells.get(bsid) ?? []) {
        const prev = row.get(builderid);
        row.set(builderid, prev ? [...prev, ...list] : list.slice());
      }
    }
    out.set(c.changeid, row);
  }
  return out;
}

export interface TagGroup {
  tag: string;
  builders: Builder[];
}

/**
 * Builders grouped by their first tag (untagged last), names sorted inside a group.
 * When `only` is given, builders not in it are left out (console hides builders without builds).
 */
export function groupBuildersByTag(builders: Builder[], only?: Set<number>): TagGroup[] {
  const groups = new Map<string, Builder[]>();
  for (const b of builders) {
    if (only && !only.has(b.builderid)) continue;
    const tag = b.tags?.length ? [...b.tags].sort()[0] : '';
    let l = groups.get(tag);
    if (!l) groups.set(tag, (l = []));
    l.push(b);
  }
  return [...groups.entries()]
    .sort(([a], [b]) => (a === '' ? 1 : b === '' ? -1 : a.localeCompare(b)))
    .map(([tag, list]) => ({ tag, builders: list.sort((x, y) => x.name.localeCompare(y.name)) }));
}

/** Ids of builders that have at least one cell anywhere in the matrix. */
export function buildersInMatrix(matrix: Map<number, Map<number, Cell[]>>): Set<number> {
  const s = new Set<number>();
  for (const row of matrix.values()) for (const id of row.keys()) s.add(id);
  return s;
}
