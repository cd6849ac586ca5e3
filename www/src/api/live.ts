/**
 * Live data over one shared WebSocket (`ws`, relative to the page).
 *
 * - every pattern is subscribed once on the socket (reference counted);
 * - events are queued and dispatched once per animation frame inside a signals batch,
 *   so a flood of events costs one render per frame, not one per event;
 * - after a lost connection it reconnects with exponential backoff (capped at 5 s),
 *   subscribes all patterns again and refreshes every live query, since events may
 *   have been missed while the master was away.
 */
import { signal, batch, type Signal } from '@preact/signals';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { getCollection, getJson, typeKey, type Query } from './rest';

export type ConnectionState = 'connecting' | 'open' | 'closed';
export const connectionState = signal<ConnectionState>('closed');

type EventCb = (key: string, msg: any) => void;

interface MinimalSocket {
  readyState: number;
  send(data: string): void;
  close(): void;
  onopen: ((ev: any) => void) | null;
  onclose: ((ev: any) => void) | null;
  onerror: ((ev: any) => void) | null;
  onmessage: ((ev: { data: any }) => void) | null;
}

export type SocketFactory = (url: string) => MinimalSocket;

const OPEN = 1;
let factory: SocketFactory = (url) => new WebSocket(url) as unknown as MinimalSocket;
let socket: MinimalSocket | null = null;
let msgId = 0;
let attempts = 0;
let everOpened = false;
let keepOpen = false;
let reconnectTimer: ReturnType<typeof setTimeout> | null = null;
const subs = new Map<string, Set<EventCb>>();
const reconnectListeners = new Set<() => void>();
const flushEndListeners = new Set<() => void>();
let queue: [string, any][] = [];
let flushScheduled = false;

export const MAX_BACKOFF_MS = 5000;

export function wsUrl(): string {
  const base = typeof document !== 'undefined' ? document.baseURI : 'http://localhost/';
  const u = new URL('ws', base);
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  u.hash = '';
  u.search = '';
  return u.toString();
}

function send(obj: object): void {
  if (socket && socket.readyState === OPEN) socket.send(JSON.stringify({ ...obj, _id: ++msgId }));
}

export function backoffDelay(attempt: number): number {
  return Math.min(MAX_BACKOFF_MS, 250 * 2 ** attempt);
}

function connect(): void {
  if (socket || typeof window === 'undefined') return;
  connectionState.value = 'connecting';
  let s: MinimalSocket;
  try {
    s = factory(wsUrl());
  } catch {
    scheduleReconnect();
    return;
  }
  socket = s;
  s.onopen = () => {
    if (socket !== s) return;
    attempts = 0;
    connectionState.value = 'open';
    for (const p of subs.keys()) send({ cmd: 'startConsuming', path: p });
    if (everOpened) for (const l of [...reconnectListeners]) l();
    everOpened = true;
  };
  s.onmessage = (ev) => {
    let data: any;
    try {
      data = JSON.parse(typeof ev.data === 'string' ? ev.data : String(ev.data));
    } catch {
      return;
    }
    if (data && typeof data.k === 'string') enqueue(data.k, data.m);
  };
  s.onerror = () => {
    // onclose follows
  };
  s.onclose = () => {
    if (socket !== s) return;
    socket = null;
    connectionState.value = 'closed';
    scheduleReconnect();
  };
}

function scheduleReconnect(): void {
  if (reconnectTimer) return;
  const delay = backoffDelay(attempts++);
  reconnectTimer = setTimeout(() => {
    reconnectTimer = null;
    if (keepOpen || subs.size || reconnectListeners.size) connect();
  }, delay);
}

function enqueue(key: string, msg: any): void {
  queue.push([key, msg]);
  if (flushScheduled) return;
  flushScheduled = true;
  const raf = typeof requestAnimationFrame === 'function' ? requestAnimationFrame : (f: () => void) => setTimeout(f, 16);
  raf(() => flush());
}

/** Key `builds/12/finished` matches pattern `builds/*\/*` (same length, `*` = any). */
export function keyMatches(pattern: string, key: string): boolean {
  const p = pattern.split('/');
  const k = key.split('/');
  if (p.length !== k.length) return false;
  for (let i = 0; i < p.length; i++) if (p[i] !== '*' && p[i] !== k[i]) return false;
  return true;
}

/** Dispatches the queued events now (normally called once per animation frame). */
export function flush(): void {
  flushScheduled = false;
  const events = queue;
  queue = [];
  if (!events.length) return;
  batch(() => {
    for (const [key, msg] of events) {
      for (const [pattern, cbs] of subs) {
        if (!keyMatches(pattern, key)) continue;
        for (const cb of [...cbs]) {
          try {
            cb(key, msg);
          } catch (e) {
            console.error('live event handler failed', e);
          }
        }
      }
    }
    for (const l of [...flushEndListeners]) l();
  });
}

/** Low-level subscription to a routing-key pattern; returns the unsubscribe function. */
export function subscribe(pattern: string, cb: EventCb): () => void {
  let set = subs.get(pattern);
  if (!set) {
    set = new Set();
    subs.set(pattern, set);
    send({ cmd: 'startConsuming', path: pattern });
  }
  set.add(cb);
  connect();
  let done = false;
  return () => {
    if (done) return;
    done = true;
    const s = subs.get(pattern);
    if (!s) return;
    s.delete(cb);
    if (!s.size) {
      subs.delete(pattern);
      send({ cmd: 'stopConsuming', path: pattern });
    }
  };
}

/** Opens the shared socket now (the shell does, for its connection indicator). */
export function ensureConnected(): void {
  keepOpen = true;
  connect();
}

/** Called after the socket reopened (events may have been missed: re-fetch). */
export function onReconnect(cb: () => void): () => void {
  reconnectListeners.add(cb);
  return () => reconnectListeners.delete(cb);
}

function onFlushEnd(cb: () => void): () => void {
  flushEndListeners.add(cb);
  return () => flushEndListeners.delete(cb);
}

/** Test hooks. */
export const __testing = {
  setSocketFactory(f: SocketFactory) {
    factory = f;
  },
  reset() {
    if (reconnectTimer) clearTimeout(reconnectTimer);
    reconnectTimer = null;
    const s = socket;
    socket = null;
    if (s) {
      s.onclose = null;
      s.close();
    }
    subs.clear();
    reconnectListeners.clear();
    flushEndListeners.clear();
    queue = [];
    flushScheduled = false;
    attempts = 0;
    everOpened = false;
    keepOpen = false;
    connectionState.value = 'closed';
  },
  patterns: () => [...subs.keys()],
  get socket() {
    return socket;
  },
};

// ---------------------------------------------------------------------------------------
// collection merging

const ID_KEYS: Record<string, string> = {
  buildsets: 'bsid',
  sourcestamps: 'ssid',
  forceschedulers: 'name',
  logchunks: 'firstline',
  _properties: 'name',
  properties_list: 'name',
  rootlinks: 'name',
  test_results: 'test_resultid',
  test_result_sets: 'test_result_setid',
  build_data: 'name',
  changesources: 'changesourceid',
  branches: 'branchid',
};

/** The id field of a type (`builds` → `buildid`). */
export function idKeyFor(type: string): string {
  if (ID_KEYS[type]) return ID_KEYS[type];
  if (type.endsWith('es') && /(ches|shes|sses|xes)$/.test(type)) return type.slice(0, -2) + 'id';
  return type.replace(/s$/, '') + 'id';
}

const NON_FILTERS = new Set(['limit', 'offset', 'order', 'field', 'property']);

function coerce(v: string, sample: unknown): unknown {
  if (typeof sample === 'number') return Number(v);
  if (typeof sample === 'boolean') return ['true', 'yes', 'on', '1'].includes(v.toLowerCase());
  return v;
}

function cmpOne(op: string, actual: any, wanted: unknown): boolean {
  switch (op) {
    case 'eq':
      return Array.isArray(actual) ? JSON.stringify(actual) === JSON.stringify(wanted) : actual === wanted;
    case 'ne':
      return actual !== wanted;
    case 'lt':
      return actual !== null && actual < (wanted as any);
    case 'le':
      return actual !== null && actual <= (wanted as any);
    case 'gt':
      return actual !== null && actual > (wanted as any);
    case 'ge':
      return actual !== null && actual >= (wanted as any);
    case 'contains':
      if (Array.isArray(actual)) return actual.includes(wanted);
      return typeof actual === 'string' && actual.includes(String(wanted));
    default:
      return true;
  }
}

/** Does an entity pass the query's filters (`complete=false`, `builderid=3`, `x__ne=...`)? */
export function matchesQuery(entity: any, query: Query | undefined): boolean {
  if (!query || !entity) return true;
  for (const [param, raw] of Object.entries(query)) {
    if (NON_FILTERS.has(param) || raw === undefined || raw === null) continue;
    const [field, op0] = param.split('__');
    const op = op0 || 'eq';
    if (!(field in entity)) continue; // not a field of this entity: cannot judge
    const actual = entity[field];
    const values = (Array.isArray(raw) ? raw : [raw]).map((v) => (typeof v === 'string' ? coerce(v, actual) : v));
    let ok: boolean;
    if (op === 'in' || (op === 'eq' && values.length > 1)) ok = values.some((v) => cmpOne('eq', actual, v));
    else if (op === 'notin' || (op === 'ne' && values.length > 1)) ok = values.every((v) => cmpOne('ne', actual, v));
    else if (op === 'contains') ok = values.some((v) => cmpOne('contains', actual, v));
    else ok = values.every((v) => cmpOne(op, actual, v));
    if (!ok) return false;
  }
  return true;
}

function orderKeys(query: Query | undefined): string[] {
  const o = query?.order;
  if (o === undefined || o === null) return [];
  return (Array.isArray(o) ? o : [o]).map(String);
}

/** Sorts like the server: `-field` descending; nulls first ascending, last descending. */
export function compareBy(order: string[]): (a: any, b: any) => number {
  return (a, b) => {
    for (const o of order) {
      const desc = o.startsWith('-');
      const f = desc ? o.slice(1) : o;
      const x = a?.[f];
      const y = b?.[f];
      if (x === y) continue;
      let c: number;
      if (x === null || x === undefined) c = -1;
      else if (y === null || y === undefined) c = 1;
      else c = x < y ? -1 : x > y ? 1 : 0;
      if (c) return desc ? -c : c;
    }
    return 0;
  };
}

function mergeEntity(old: any, upd: any): any {
  const out = { ...old, ...upd };
  // events carry `properties: {}` (or null): keep what a `property=` query fetched
  if (old && old.properties && (!upd.properties || Object.keys(upd.properties).length === 0)) out.properties = old.properties;
  return out;
}

export interface MergeOptions {
  idKey: string;
  query?: Query;
  filter?: (e: any) => boolean;
}

/**
 * Applies events (full entities) to a list: update in place by id, add new matching ones,
 * drop those that no longer match; keeps the query's order and limit.
 * Returns the new list and the change of the total count.
 */
export function mergeItems<T>(items: T[], updates: any[], opts: MergeOptions): { items: T[]; added: number } {
  const { idKey, query, filter } = opts;
  const order = orderKeys(query);
  const offset = Number(query?.offset || 0);
  const limit = query?.limit !== undefined && query?.limit !== null ? Number(query.limit) : null;
  const out = items.slice();
  const index = new Map<unknown, number>();
  out.forEach((e: any, i) => index.set(e?.[idKey], i));
  let added = 0;
  let removed = false;
  for (const u of updates) {
    if (!u || typeof u !== 'object' || !(idKey in u)) continue;
    const id = u[idKey];
    const i = index.get(id);
    const merged = i !== undefined ? mergeEntity(out[i], u) : u;
    const ok = matchesQuery(merged, query) && (!filter || filter(merged));
    if (i !== undefined) {
      if (ok) out[i] = merged;
      else {
        out[i] = undefined as any;
        index.delete(id);
        removed = true;
        added--;
      }
    } else if (ok && offset === 0) {
      // new entities only show up on the first page
      index.set(id, out.length);
      out.push(merged);
      added++;
    }
  }
  let res = removed ? out.filter((x) => x !== undefined) : out;
  if (order.length) res.sort(compareBy(order));
  if (limit !== null && limit >= 0 && res.length > limit) res = res.slice(0, limit);
  return { items: res, added };
}

// ---------------------------------------------------------------------------------------
// hooks

export interface CollectionResult<T> {
  items: T[];
  total: number | null;
  loading: boolean;
  error: string | null;
  refresh(): void;
}

export interface CollectionOptions<T> {
  live?: boolean;
  idKey?: string;
  filter?: (e: T) => boolean;
}

interface Store<T> {
  start(): void;
  stop(): void;
  refresh(): void;
  state: Signal<{ items: T[]; total: number | null; loading: boolean; error: string | null }>;
}

/** A live collection outside of a component (the hooks wrap it). */
export function createCollectionStore<T>(path: string, query: Query | undefined, opts: CollectionOptions<T> = {}): Store<T> {
  const type = typeKey(path);
  const idKey = opts.idKey || idKeyFor(type);
  const live = opts.live !== false;
  const state = signal<{ items: T[]; total: number | null; loading: boolean; error: string | null }>({
    items: [],
    total: null,
    loading: true,
    error: null,
  });
  let pending: any[] = [];
  let fetching = 0;
  let stopped = true;
  const unsubs: (() => void)[] = [];

  const applyPending = () => {
    if (!pending.length || fetching) return;
    const ups = pending;
    pending = [];
    const s = state.peek();
    const { items, added } = mergeItems(s.items, ups, { idKey, query, filter: opts.filter as any });
    state.value = { ...s, items, total: s.total === null ? null : Math.max(0, s.total + added) };
  };

  const refresh = () => {
    const gen = ++fetching;
    state.value = { ...state.peek(), loading: true };
    getCollection<T>(path, query).then(
      (r) => {
        if (stopped || gen !== fetching) return;
        fetching = 0;
        let items = r.items;
        if (opts.filter) items = items.filter(opts.filter);
        state.value = { items, total: r.total, loading: false, error: null };
        applyPending(); // events that arrived during the fetch
      },
      (e: Error) => {
        if (stopped || gen !== fetching) return;
        fetching = 0;
        pending = [];
        state.value = { ...state.peek(), loading: false, error: e.message || String(e) };
      },
    );
  };

  return {
    state,
    refresh,
    start() {
      stopped = false;
      if (live) {
        unsubs.push(
          subscribe(`${path.replace(/\/+$/, '')}/*/*`, (_k, msg) => {
            if (msg && typeof msg === 'object') pending.push(msg);
          }),
        );
        unsubs.push(onFlushEnd(applyPending));
        unsubs.push(onReconnect(refresh));
      }
      refresh();
    },
    stop() {
      stopped = true;
      while (unsubs.length) unsubs.pop()!();
    },
  };
}

function useStoreState<S>(sig: Signal<S>): S {
  const [, setTick] = useState(0);
  useEffect(() => sig.subscribe(() => setTick((t) => t + 1)), [sig]);
  return sig.value;
}

/**
 * A collection (`builds`, `builders/3/builds`) with its query, kept up to date by the
 * events of `<path>/*\/*` (merged by id, keeping the query's order and limit).
 */
export function useCollection<T = any>(path: string, query?: Query, opts: CollectionOptions<T> = {}): CollectionResult<T> {
  const key = JSON.stringify([path, query ?? null, opts.live !== false, opts.idKey ?? null]);
  const store = useMemo(() => createCollectionStore<T>(path, query, opts), [key]);
  useEffect(() => {
    store.start();
    return () => store.stop();
  }, [store]);
  const s = useStoreState(store.state);
  return { ...s, refresh: store.refresh };
}

export interface EntityResult<T> {
  data: T | null;
  loading: boolean;
  error: string | null;
  refresh(): void;
}

/** One entity (`builders/3/builds/7`), updated by the events of `<path>/*`. */
export function useEntity<T = any>(path: string | null, opts: { live?: boolean; query?: Query } = {}): EntityResult<T> {
  const key = JSON.stringify([path, opts.query ?? null, opts.live !== false]);
  const store = useMemo(() => {
    const state = signal<{ data: T | null; loading: boolean; error: string | null }>({
      data: null,
      loading: !!path,
      error: null,
    });
    let gen = 0;
    let stopped = true;
    const unsubs: (() => void)[] = [];
    const refresh = () => {
      if (!path) return;
      const g = ++gen;
      state.value = { ...state.peek(), loading: true };
      getJson(path, opts.query).then(
        (body) => {
          if (stopped || g !== gen) return;
          const t = typeKey(path);
          let list = body?.[t];
          if (!Array.isArray(list)) {
            const k = Object.keys(body || {}).find((x) => x !== 'meta' && Array.isArray(body[x]));
            list = k ? body[k] : [];
          }
          state.value = { data: list[0] ?? null, loading: false, error: list.length ? null : 'not found' };
        },
        (e: Error) => {
          if (stopped || g !== gen) return;
          state.value = { data: state.peek().data, loading: false, error: e.message || String(e) };
        },
      );
    };
    return {
      state,
      refresh,
      start() {
        stopped = false;
        if (!path) return;
        if (opts.live !== false) {
          unsubs.push(
            subscribe(`${path.replace(/\/+$/, '')}/*`, (_k, msg) => {
              if (!msg || typeof msg !== 'object') return;
              const cur = state.peek();
              if (!cur.data) return;
              state.value = { ...cur, data: mergeEntity(cur.data, msg) };
            }),
          );
          unsubs.push(onReconnect(refresh));
        }
        refresh();
      },
      stop() {
        stopped = true;
        while (unsubs.length) unsubs.pop()!();
      },
    };
  }, [key]);
  useEffect(() => {
    store.start();
    return () => store.stop();
  }, [store]);
  const s = useStoreState(store.state);
  return { ...s, refresh: store.refresh };
}

/** Subscribes a component to a pattern for its lifetime. */
export function useSubscription(pattern: string | null, cb: EventCb, deps: unknown[] = []): void {
  useEffect(() => {
    if (!pattern) return;
    return subscribe(pattern, cb);
  }, [pattern, ...deps]);
}

/** Runs cb after each reconnect of the socket (for pages that fetch by themselves). */
export function useReconnect(cb: () => void, deps: unknown[] = []): void {
  useEffect(() => onReconnect(cb), deps);
}
