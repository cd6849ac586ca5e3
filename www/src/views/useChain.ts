// Live requests + builds of a set of buildsets (console and grid): two REST calls when the
// set changes, then build and request events are merged in place.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { getCollection } from '../api/rest';
import { subscribe, useReconnect } from '../api/live';
import { cellsByBuildset, fetchRequestsAndBuilds, type Cell, type Fetch } from './chain';
import type { Build, BuildRequest } from './types';

const fetchItems: Fetch = async <T,>(path: string, query: Record<string, string | number | boolean>) => (await getCollection<T>(path, query)).items;

/** Union by id: fresh rows win, rows only in `old` are kept when `keep` accepts them. */
export function unionById<T>(fresh: T[], old: T[], id: (t: T) => number, keep: (t: T) => boolean): T[] {
  const seen = new Set(fresh.map(id));
  return [...fresh, ...old.filter((x) => !seen.has(id(x)) && keep(x))];
}

export function upsertById<T>(list: T[], item: T, id: (t: T) => number): T[] {
  const i = list.findIndex((x) => id(x) === id(item));
  if (i < 0) return [...list, item];
  const out = list.slice();
  out[i] = { ...list[i], ...item };
  return out;
}

const brid = (r: BuildRequest) => r.buildrequestid;
const bid = (b: Build) => b.buildid;

export function useChain(bsids: number[]): {
  cells: Map<number, Map<number, Cell[]>>;
  loading: boolean;
  error: string | null;
} {
  const key = bsids.slice().sort((a, b) => a - b).join(',');
  const [requests, setRequests] = useState<BuildRequest[]>([]);
  const [builds, setBuilds] = useState<Build[]>([]);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<string | null>(null);
  const [gen, setGen] = useState(0);
  const watched = useRef(new Set<number>());
  watched.current = new Set(bsids);
  const rids = useRef(new Set<number>());
  rids.current = new Set(requests.map(brid));

  useEffect(() => {
    let stop = false;
    setLoading(true);
    fetchRequestsAndBuilds(fetchItems, key ? key.split(',').map(Number) : []).then(
      (r) => {
        if (stop) return;
        const ws = watched.current;
        setRequests((old) => unionById(r.requests, old, brid, (x) => ws.has(x.buildsetid)));
        const ids = new Set([...r.requests.map(brid)]);
        setBuilds((old) => unionById(r.builds, old, bid, (x) => ids.has(x.buildrequestid)));
        setLoading(false);
        setError(null);
      },
      (e: Error) => {
        if (stop) return;
        setLoading(false);
        setError(e.message);
      },
    );
    return () => {
      stop = true;
    };
  }, [key, gen]);

  useEffect(() => {
    const a = subscribe('buildrequests/*/*', (_k, m) => {
      if (m && typeof m.buildrequestid === 'number' && watched.current.has(m.buildsetid)) setRequests((l) => upsertById(l, m as BuildRequest, brid));
    });
    const b = subscribe('builds/*/*', (_k, m) => {
      if (m && typeof m.buildid === 'number' && rids.current.has(m.buildrequestid))
        setBuilds((l) => upsertById(l, { ...(m as Build), properties: undefined }, bid));
    });
    return () => {
      a();
      b();
    };
  }, []);
  useReconnect(() => setGen((g) => g + 1), []);

  const cells = useMemo(() => cellsByBuildset(requests, builds), [requests, builds]);
  return { cells, loading, error };
}
