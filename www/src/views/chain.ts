// The data API links builds to changes only through buildsets:
//   change.sourcestamp.ssid ∈ buildset.sourcestamps[].ssid
//   buildrequest.buildsetid = buildset.bsid
//   build.buildrequestid   = buildrequest.buildrequestid
// Per-row calls (`changes/<id>/builds`) would cost one request per change, so the console and
// grid fetch each level once with a `__ge` filter on the smallest id they need. Ids grow with
// time, so "every request of buildsets >= min" is a superset that stays small for recent views.
import type { Build, BuildRequest, Buildset } from './types';

export type Fetch = <T>(path: string, query: Record<string, string | number | boolean>) => Promise<T[]>;

export function minOf(ids: Iterable<number>): number | null {
  let min: number | null = null;
  for (const id of ids) if (min === null || id < min) min = id;
  return min;
}

/** Requests of the given buildsets, then builds of those requests: two REST calls at most. */
export async function fetchRequestsAndBuilds(
  fetch: Fetch,
  bsids: number[],
): Promise<{ requests: BuildRequest[]; builds: Build[] }> {
  const minBsid = minOf(bsids);
  if (minBsid === null) return { requests: [], builds: [] };
  const wanted = new Set(bsids);
  const requests = (
    await fetch<BuildRequest>('buildrequests', { buildsetid__ge: minBsid })
  ).filter((r) => wanted.has(r.buildsetid));
  const minBrid = minOf(requests.map((r) => r.buildrequestid));
  if (minBrid === null) return { requests, builds: [] };
  const rids = new Set(requests.map((r) => r.buildrequestid));
  const builds = (await fetch<Build>('builds', { buildrequestid__ge: minBrid })).filter((b) =>
    rids.has(b.buildrequestid),
  );
  return { requests, builds };
}

/** One cell of the console/grid: a request and the builds it produced (retries → several). */
export interface Cell {
  request: BuildRequest;
  builds: Build[];
}

/** Map bsid → builderid → cells, from requests and builds. Builds newest first per request. */
export function cellsByBuildset(requests: BuildRequest[], builds: Build[]): Map<number, Map<number, Cell[]>> {
  const byRequest = new Map<number, Build[]>();
  for (const b of builds) {
    let l = byRequest.get(b.buildrequestid);
    if (!l) byRequest.set(b.buildrequestid, (l = []));
    l.push(b);
  }
  const out = new Map<number, Map<number, Cell[]>>();
  const sorted = requests.slice().sort((a, b) => a.buildrequestid - b.buildrequestid);
  for (const r of sorted) {
    let row = out.get(r.buildsetid);
    if (!row) out.set(r.buildsetid, (row = new Map()));
    let cells = row.get(r.builderid);
    if (!cells) row.set(r.builderid, (cells = []));
    cells.push({ request: r, builds: (byRequest.get(r.buildrequestid) ?? []).sort((a, b) => b.buildid - a.buildid) });
  }
  return out;
}

/** The state of a cell for colouring: result of its latest build, 'pending' or 'running'. */
export function cellState(cells: Cell[]): { results: number | null; state: 'pending' | 'running' | 'done' } {
  const latest = cells[cells.length - 1];
  if (!latest) return { results: null, state: 'pending' };
  const b = latest.builds[0];
  if (!b) return { results: latest.request.complete ? latest.request.results : null, state: latest.request.complete ? 'done' : 'pending' };
  if (!b.complete) return { results: null, state: 'running' };
  return { results: b.results, state: 'done' };
}

/** Upsert helper for live merges: replace by key or insert, then sort descending by key. */
export function upsertDesc<T>(list: T[], item: T, key: (t: T) => number, limit?: number): T[] {
  const k = key(item);
  const i = list.findIndex((x) => key(x) === k);
  let out: T[];
  if (i >= 0) {
    out = list.slice();
    out[i] = { ...list[i], ...item };
  } else {
    out = [...list, item].sort((a, b) => key(b) - key(a));
    if (limit !== undefined && out.length > limit) out = out.slice(0, limit);
  }
  return out;
}
