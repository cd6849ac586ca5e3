/**
 * Builders with their recent builds and running/pending counts, for the builders and home
 * pages: one call to the UI aggregate endpoint `ui-api/builders?builds=N`, then live events
 * on `builds/*\/*` and `buildrequests/*\/*`. Without that endpoint (404) it falls back to
 * `builders` + `builds?limit=1000&order=-buildid`, grouped here.
 */
import { signal, type Signal } from '@preact/signals';
import { useLayoutEffect, useMemo, useState } from 'preact/hooks';
import { ApiError, getCollection } from './rest';
import { subscribe, onReconnect } from './live';

export interface Build {
  buildid: number;
  number: number;
  builderid: number;
  buildrequestid?: number;
  workerid?: number;
  masterid?: number;
  started_at: number;
  complete: boolean;
  complete_at: number | null;
  results: number | null;
  state_string: string;
  properties?: Record<string, [unknown, string]>;
}

export interface BuilderSummary {
  builderid: number;
  name: string;
  description?: string | null;
  description_html?: string | null;
  masterids: number[];
  projectid?: number | null;
  tags: string[];
  recent_builds: Build[];
  running: number;
  pending: number;
}

export interface BuildersState {
  builders: BuilderSummary[];
  loading: boolean;
  error: string | null;
  /** true when the aggregate endpoint was missing and the fallback was used */
  fallback: boolean;
}

/** Groups builds (newest first) per builder, keeping n per builder. */
export function groupBuilds(builders: any[], builds: Build[], n: number): BuilderSummary[] {
  const per = new Map<number, Build[]>();
  const running = new Map<number, number>();
  for (const b of builds) {
    if (!b.complete) running.set(b.builderid, (running.get(b.builderid) || 0) + 1);
    let l = per.get(b.builderid);
    if (!l) per.set(b.builderid, (l = []));
    if (l.length < n) l.push(b);
  }
  return builders.map((bd) => ({
    ...bd,
    tags: bd.tags || [],
    masterids: bd.masterids || [],
    recent_builds: per.get(bd.builderid) || [],
    running: running.get(bd.builderid) || 0,
    pending: 0,
  }));
}

let prefetched: { n: number; at: number; promise: Promise<{ builders: BuilderSummary[]; fallback: boolean }> } | null = null;

/**
 * Starts the request while the page's code is still loading (called by the route table);
 * the page's first fetch then takes this answer if it is recent.
 */
export function prefetchBuilders(n: number): void {
  const promise = doFetchBuilders(n);
  promise.catch(() => {});
  prefetched = { n, at: Date.now(), promise };
}

export function fetchBuilders(n: number): Promise<{ builders: BuilderSummary[]; fallback: boolean }> {
  const p = prefetched;
  prefetched = null;
  if (p && p.n === n && Date.now() - p.at < 3000) return p.promise;
  return doFetchBuilders(n);
}

async function doFetchBuilders(n: number): Promise<{ builders: BuilderSummary[]; fallback: boolean }> {
  try {
    const r = await getCollection<BuilderSummary>('ui-api/builders', { builds: n });
    return {
      builders: r.items.map((b) => ({ ...b, tags: b.tags || [], masterids: b.masterids || [], recent_builds: b.recent_builds || [], running: b.running || 0, pending: b.pending || 0 })),
      fallback: false,
    };
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 404) throw e;
  }
  const [bs, builds] = await Promise.all([getCollection<any>('builders'), getCollection<Build>('builds', { limit: 1000, order: '-buildid' })]);
  return { builders: groupBuilds(bs.items, builds.items, n), fallback: true };
}

/** Applies one build event to the summaries (pure; returns the same array when nothing changed). */
export function applyBuildEvent(list: BuilderSummary[], key: string, build: Build, n: number): BuilderSummary[] {
  if (!build || typeof build !== 'object' || build.builderid === undefined) return list;
  const i = list.findIndex((b) => b.builderid === build.builderid);
  if (i < 0) return list;
  const ev = key.split('/').pop();
  const bd = list[i];
  const recent = bd.recent_builds.slice();
  const j = recent.findIndex((b) => b.buildid === build.buildid);
  const wasRunning = j >= 0 ? !recent[j].complete : ev === 'new' ? false : !build.complete;
  if (j >= 0) recent[j] = { ...recent[j], ...build, properties: recent[j].properties };
  else {
    recent.push(build);
    recent.sort((a, b) => b.number - a.number);
    if (recent.length > n) recent.length = n;
  }
  let running = bd.running;
  if (ev === 'new' && j < 0 && !build.complete) running++;
  else if (build.complete && (wasRunning || ev === 'finished')) running--;
  const out = list.slice();
  out[i] = { ...bd, recent_builds: recent, running: Math.max(0, running) };
  return out;
}

/** Applies one build request event to the pending counts. */
export function applyRequestEvent(list: BuilderSummary[], key: string, br: any): BuilderSummary[] {
  if (!br || typeof br !== 'object' || br.builderid === undefined) return list;
  const ev = key.split('/').pop();
  let delta = 0;
  if (ev === 'new' && !br.claimed) delta = 1;
  else if (ev === 'claimed') delta = -1;
  else if (ev === 'unclaimed') delta = 1;
  else if (ev === 'complete' && !br.claimed && !br.claimed_at) delta = -1;
  if (!delta) return list;
  const i = list.findIndex((b) => b.builderid === br.builderid);
  if (i < 0) return list;
  const out = list.slice();
  out[i] = { ...out[i], pending: Math.max(0, out[i].pending + delta) };
  return out;
}

export function createBuildersStore(n: number) {
  const state: Signal<BuildersState> = signal({ builders: [], loading: true, error: null, fallback: false });
  let gen = 0;
  let stopped = true;
  const unsubs: (() => void)[] = [];
  const refresh = () => {
    const g = ++gen;
    state.value = { ...state.peek(), loading: true };
    fetchBuilders(n).then(
      (r) => {
        if (stopped || g !== gen) return;
        state.value = { builders: r.builders, loading: false, error: null, fallback: r.fallback };
      },
      (e: Error) => {
        if (stopped || g !== gen) return;
        state.value = { ...state.peek(), loading: false, error: e.message || String(e) };
      },
    );
  };
  return {
    state,
    refresh,
    start() {
      stopped = false;
      unsubs.push(
        subscribe('builds/*/*', (k, m) => {
          const s = state.peek();
          const b = applyBuildEvent(s.builders, k, m, n);
          if (b !== s.builders) state.value = { ...s, builders: b };
        }),
        subscribe('buildrequests/*/*', (k, m) => {
          const s = state.peek();
          const b = applyRequestEvent(s.builders, k, m);
          if (b !== s.builders) state.value = { ...s, builders: b };
        }),
        subscribe('builders/*/*', (k, m) => {
          // a builder changed (e.g. a master started serving it): update its fields
          if (!m || typeof m !== 'object' || m.builderid === undefined) return;
          const s = state.peek();
          const i = s.builders.findIndex((b) => b.builderid === m.builderid);
          if (i < 0) {
            if (k.endsWith('/started') || k.endsWith('/update')) refresh();
            return;
          }
          const ev = k.split('/').pop();
          const upd = ev === 'update' ? m : {};
          const out = s.builders.slice();
          out[i] = { ...out[i], ...upd, recent_builds: out[i].recent_builds, running: out[i].running, pending: out[i].pending };
          state.value = { ...s, builders: out };
        }),
        onReconnect(refresh),
      );
      refresh();
    },
    stop() {
      stopped = true;
      while (unsubs.length) unsubs.pop()!();
    },
  };
}

export function useBuilders(n: number): BuildersState & { refresh(): void } {
  const store = useMemo(() => createBuildersStore(n), [n]);
  const [, setTick] = useState(0);
  useLayoutEffect(() => {
    const un = store.state.subscribe(() => setTick((t) => t + 1));
    store.start();
    return () => {
      store.stop();
      un();
    };
  }, [store]);
  return { ...store.state.value, refresh: store.refresh };
}
