// Small hooks and components shared by the "others" pages.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { ComponentChildren } from 'preact';
import { control, ApiError } from '../api/rest';
import { subscribe, useCollection, useReconnect } from '../api/live';
import type { Build, Builder, Master } from './types';
import { Link, setPageTitle } from '../router';
import { resultsClass, resultsText } from '../components';

/** id → entity map of a list (memoised on the list). */
export function useById<T>(items: T[], key: (t: T) => number): Map<number, T> {
  return useMemo(() => new Map(items.map((x) => [key(x), x])), [items]);
}

/** All builders, by id (one call, live). */
export function useBuilders(): { map: Map<number, Builder>; list: Builder[]; loading: boolean; error: string | null } {
  const r = useCollection<Builder>('builders', { order: 'name' });
  const map = useById(r.items, (b) => b.builderid);
  return { map, list: r.items, loading: r.loading, error: r.error };
}

export function useMasters(): Map<number, Master> {
  const r = useCollection<Master>('masters');
  return useById(r.items, (m) => m.masterid);
}

/** Message of a failed control call: 403 gets a hint about logging in. */
export function controlErrorText(e: unknown): string {
  if (e instanceof ApiError) {
    if (e.status === 403) return `Not allowed: ${e.message}`;
    return e.message;
  }
  return (e as Error)?.message ?? String(e);
}

/** Runs JSON-RPC calls, tracking the busy key and the last error. */
export function useControl(): {
  busy: string | null;
  error: string | null;
  clear(): void;
  run(key: string, path: string, method: string, params?: object): Promise<boolean>;
} {
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  return {
    busy,
    error,
    clear: () => setError(null),
    async run(key, path, method, params = {}) {
      setBusy(key);
      setError(null);
      try {
        await control(path, method, params);
        return true;
      } catch (e) {
        setError(`${method} ${path}: ${controlErrorText(e)}`);
        return false;
      } finally {
        setBusy(null);
      }
    },
  };
}

/**
 * Calls `refresh` (debounced) when an event matching `pattern` passes `pred`, and after the
 * socket reconnects. For derived views that cannot merge events into one collection.
 */
export function useRefreshOn(pattern: string | null, pred: (key: string, msg: any) => boolean, refresh: () => void, delayMs = 400): void {
  const cb = useRef({ pred, refresh });
  cb.current = { pred, refresh };
  useEffect(() => {
    if (!pattern) return;
    let timer: ReturnType<typeof setTimeout> | null = null;
    const un = subscribe(pattern, (k, m) => {
      if (!cb.current.pred(k, m) || timer) return;
      timer = setTimeout(() => {
        timer = null;
        cb.current.refresh();
      }, delayMs);
    });
    return () => {
      un();
      if (timer) clearTimeout(timer);
    };
  }, [pattern]);
  useReconnect(() => cb.current.refresh(), []);
}

/** A value persisted in localStorage (view settings: N, filters). */
export function useStored<T>(key: string, initial: T): [T, (v: T) => void] {
  const [v, setV] = useState<T>(() => {
    try {
      const s = localStorage.getItem(key);
      return s === null ? initial : (JSON.parse(s) as T);
    } catch {
      return initial;
    }
  });
  return [
    v,
    (nv: T) => {
      setV(nv);
      try {
        localStorage.setItem(key, JSON.stringify(nv));
      } catch {
        // private mode: keep it in memory only
      }
    },
  ];
}

export function Section(props: { title?: ComponentChildren; right?: ComponentChildren; children?: ComponentChildren; class?: string }) {
  return (
    <section class={`bb-section ${props.class ?? ''}`}>
      {props.title || props.right ? (
        <h2>
          {props.title}
          <span class="bb-grow" />
          {props.right ? <span class="bo-h2-right">{props.right}</span> : null}
        </h2>
      ) : null}
      {props.children}
    </section>
  );
}

/** Sets the page's title once it is known (e.g. the worker's name). */
export function useTitle(title: string | null | undefined): void {
  useEffect(() => {
    if (title) setPageTitle(title);
  }, [title]);
}

/** Small coloured build chips (newest first), keyed by build id (numbers repeat across builders). */
export function BuildChips(props: { builds: Build[]; builders?: Map<number, Builder> }) {
  return (
    <span class="bb-build-badges">
      {props.builds.map((b) => (
        <Link
          key={b.buildid}
          to={`/builders/${b.builderid}/builds/${b.number}`}
          class={`bb-mini ${resultsClass(b.results, b.complete)}`}
          title={`${props.builders?.get(b.builderid)?.name ?? ''} #${b.number} ${resultsText(b.results, b.complete)}${b.state_string ? ': ' + b.state_string : ''}`}
        >
          {b.number}
        </Link>
      ))}
    </span>
  );
}

/** The toolbar's "how many" choice of the views (changes, builds, columns). */
export function CountSelect(props: {
  label: string;
  value: number;
  choices: number[];
  onChange: (n: number) => void;
  testid?: string;
}) {
  return (
    <label>
      {props.label}{' '}
      <select value={props.value} onChange={(e) => props.onChange(Number(e.currentTarget.value))} data-testid={props.testid}>
        {props.choices.map((s) => (
          <option key={s} value={s}>
            {s}
          </option>
        ))}
      </select>
    </label>
  );
}

/** The toolbar's "builders without builds" switch of the console and grid. */
export function ShowAllBuilders(props: { checked: boolean; onChange: (all: boolean) => void }) {
  return (
    <label class="bo-small">
      <input type="checkbox" checked={props.checked} onChange={(e) => props.onChange(e.currentTarget.checked)} /> builders without builds
    </label>
  );
}
