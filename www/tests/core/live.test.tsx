import { describe, it, expect, beforeEach, afterEach, vi } from 'vitest';
import { render, cleanup, act } from '@testing-library/preact';
import {
  __testing,
  subscribe,
  flush,
  keyMatches,
  mergeItems,
  matchesQuery,
  idKeyFor,
  backoffDelay,
  connectionState,
  useCollection,
  useEntity,
  createCollectionStore,
} from '../../src/api/live';

class FakeSocket {
  static all: FakeSocket[] = [];
  readyState = 0;
  sent: any[] = [];
  onopen: ((ev: any) => void) | null = null;
  onclose: ((ev: any) => void) | null = null;
  onerror: ((ev: any) => void) | null = null;
  onmessage: ((ev: { data: any }) => void) | null = null;
  constructor(public url: string) {
    FakeSocket.all.push(this);
  }
  send(d: string) {
    this.sent.push(JSON.parse(d));
  }
  close() {
    this.readyState = 3;
  }
  open() {
    this.readyState = 1;
    this.onopen?.({});
  }
  drop() {
    this.readyState = 3;
    this.onclose?.({});
  }
  emit(k: string, m: any) {
    this.onmessage?.({ data: JSON.stringify({ k, m }) });
  }
  cmds() {
    return this.sent.map((s) => `${s.cmd} ${s.path}`);
  }
}

const last = () => FakeSocket.all[FakeSocket.all.length - 1];

function mockFetch(handler: (url: string) => any) {
  const calls: string[] = [];
  vi.stubGlobal(
    'fetch',
    vi.fn(async (url: string) => {
      calls.push(url);
      const body = handler(url);
      return { ok: true, status: 200, statusText: 'OK', json: async () => body, text: async () => JSON.stringify(body) };
    }),
  );
  return calls;
}

const tick = () => act(async () => {
  await new Promise((r) => setTimeout(r, 0));
});

beforeEach(() => {
  __testing.reset();
  FakeSocket.all = [];
  __testing.setSocketFactory((url) => new FakeSocket(url));
});
afterEach(() => {
  cleanup();
  __testing.reset();
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

describe('pattern matching and merging', () => {
  it('matches keys against patterns of the same length', () => {
    expect(keyMatches('builds/*/*', 'builds/12/finished')).toBe(true);
    expect(keyMatches('builds/*/*', 'builds/12/steps/3/new')).toBe(false);
    expect(keyMatches('builders/3/builds/*/*', 'builders/3/builds/7/new')).toBe(true);
    expect(keyMatches('builders/3/builds/*/*', 'builders/4/builds/7/new')).toBe(false);
  });
  it('derives id keys', () => {
    expect(idKeyFor('builds')).toBe('buildid');
    expect(idKeyFor('buildrequests')).toBe('buildrequestid');
    expect(idKeyFor('changes')).toBe('changeid');
    expect(idKeyFor('buildsets')).toBe('bsid');
    expect(idKeyFor('forceschedulers')).toBe('name');
  });
  it('merges by id, keeps order and limit', () => {
    const items = [
      { buildid: 3, number: 3, complete: false },
      { buildid: 2, number: 2, complete: true },
    ];
    const r = mergeItems(items, [{ buildid: 4, number: 4, complete: false }, { buildid: 3, number: 3, complete: true }], {
      idKey: 'buildid',
      query: { order: '-buildid', limit: 2 },
    });
    expect(r.items.map((b) => b.buildid)).toEqual([4, 3]);
    expect(r.items[1].complete).toBe(true);
    expect(r.added).toBe(1);
  });
  it('drops entities that stop matching the filters', () => {
    const r = mergeItems([{ buildid: 1, complete: false }], [{ buildid: 1, complete: true }, { buildid: 2, complete: false }], {
      idKey: 'buildid',
      query: { complete: 'false' },
    });
    expect(r.items.map((b) => b.buildid)).toEqual([2]);
    expect(r.added).toBe(0);
  });
  it('keeps fetched properties when an event carries none', () => {
    const r = mergeItems([{ buildid: 1, properties: { a: [1, 's'] } }], [{ buildid: 1, properties: {} }], { idKey: 'buildid' });
    expect(r.items[0].properties).toEqual({ a: [1, 's'] });
  });
  it('does not insert new entities on later pages', () => {
    const r = mergeItems([{ buildid: 1 }], [{ buildid: 9 }], { idKey: 'buildid', query: { offset: 20, limit: 20 } });
    expect(r.items).toHaveLength(1);
  });
  it('evaluates filter operators', () => {
    expect(matchesQuery({ builderid: 3 }, { builderid: '3' })).toBe(true);
    expect(matchesQuery({ builderid: 3 }, { builderid: ['4', '5'] })).toBe(false);
    expect(matchesQuery({ tags: ['a', 'b'] }, { tags__contains: 'b' })).toBe(true);
    expect(matchesQuery({ number: 5 }, { number__gt: 6 })).toBe(false);
    expect(matchesQuery({ results: 2 }, { results__ne: '0' })).toBe(true);
  });
  it('caps the backoff at 5 s', () => {
    expect(backoffDelay(0)).toBeLessThan(1000);
    expect(backoffDelay(20)).toBe(5000);
  });
});

describe('socket', () => {
  it('subscribes once per pattern and unsubscribes after the last user', () => {
    const a = vi.fn();
    const b = vi.fn();
    const ua = subscribe('builds/*/*', a);
    const s = last();
    expect(s.url).toMatch(/^ws:\/\/.*\/ws$/);
    s.open();
    expect(connectionState.value).toBe('open');
    const ub = subscribe('builds/*/*', b);
    expect(s.cmds()).toEqual(['startConsuming builds/*/*']);
    s.emit('builds/1/new', { buildid: 1 });
    flush();
    expect(a).toHaveBeenCalledWith('builds/1/new', { buildid: 1 });
    expect(b).toHaveBeenCalledTimes(1);
    ua();
    expect(s.cmds()).toEqual(['startConsuming builds/*/*']);
    ub();
    expect(s.cmds()).toEqual(['startConsuming builds/*/*', 'stopConsuming builds/*/*']);
    s.emit('builds/1/update', { buildid: 1 });
    flush();
    expect(a).toHaveBeenCalledTimes(1);
  });

  it('batches events until the frame flush', () => {
    const cb = vi.fn();
    subscribe('builds/*/*', cb);
    last().open();
    for (let i = 0; i < 100; i++) last().emit(`builds/${i}/update`, { buildid: i });
    expect(cb).not.toHaveBeenCalled();
    flush();
    expect(cb).toHaveBeenCalledTimes(100);
  });

  it('reconnects with backoff and subscribes everything again', () => {
    vi.useFakeTimers();
    subscribe('builds/*/*', () => {});
    subscribe('workers/*/*', () => {});
    const s1 = last();
    s1.open();
    s1.drop();
    expect(connectionState.value).toBe('closed');
    vi.advanceTimersByTime(5000);
    const s2 = last();
    expect(s2).not.toBe(s1);
    s2.drop(); // master still down
    vi.advanceTimersByTime(5000);
    const s3 = last();
    expect(s3).not.toBe(s2);
    s3.open();
    expect(s3.cmds().sort()).toEqual(['startConsuming builds/*/*', 'startConsuming workers/*/*']);
  });
});

describe('live collections', () => {
  it('loads, merges events and refreshes after a reconnect', async () => {
    vi.stubGlobal('requestAnimationFrame', undefined);
    let n = 0;
    const calls = mockFetch(() => {
      n++;
      return { builds: n === 1 ? [{ buildid: 2, number: 2, complete: false }] : [{ buildid: 7, number: 7, complete: false }], meta: { total: 1 } };
    });
    const seen: any[] = [];
    function C() {
      const c = useCollection<any>('builds', { order: '-buildid', limit: 2, complete: false });
      seen.push(c);
      return <ul>{c.items.map((b) => <li key={b.buildid}>{b.buildid}</li>)}</ul>;
    }
    const { container } = render(<C />);
    expect(calls[0]).toBe('api/v2/builds?order=-buildid&limit=2&complete=false');
    await tick();
    expect(container.textContent).toBe('2');
    const s = last();
    s.open();
    expect(s.cmds()).toEqual(['startConsuming builds/*/*']);
    s.emit('builds/3/new', { buildid: 3, number: 3, complete: false });
    s.emit('builds/4/new', { buildid: 4, number: 4, complete: false });
    s.emit('builds/2/finished', { buildid: 2, number: 2, complete: true });
    await act(() => flush());
    expect(container.textContent).toBe('43');
    // the master restarts: the query is fetched again
    s.drop();
    await act(async () => {
      await new Promise((r) => setTimeout(r, 300));
    });
    last().open();
    await tick();
    expect(calls).toHaveLength(2);
    expect(container.textContent).toBe('7');
  });

  it('unsubscribes when the last user unmounts', async () => {
    mockFetch(() => ({ builds: [], meta: { total: 0 } }));
    function C() {
      useCollection('builders/3/builds', { order: '-number' });
      return null;
    }
    const { unmount } = render(
      <>
        <C />
        <C />
      </>,
    );
    await tick();
    const s = last();
    s.open();
    expect(__testing.patterns()).toEqual(['builders/3/builds/*/*']);
    unmount();
    expect(__testing.patterns()).toEqual([]);
    expect(s.cmds()).toContain('stopConsuming builders/3/builds/*/*');
  });

  it('applies events that arrive while fetching after the fetch', async () => {
    let resolve!: (v: any) => void;
    vi.stubGlobal(
      'fetch',
      vi.fn(
        () =>
          new Promise((r) => {
            resolve = r;
          }),
      ),
    );
    const store = createCollectionStore<any>('workers', undefined);
    store.start();
    last().open();
    last().emit('workers/5/connected', { workerid: 5, name: 'w5' });
    flush();
    resolve({ ok: true, json: async () => ({ workers: [{ workerid: 1, name: 'w1' }], meta: { total: 1 } }) });
    await new Promise((r) => setTimeout(r, 0));
    expect(store.state.value.items.map((w: any) => w.workerid)).toEqual([1, 5]);
    expect(store.state.value.total).toBe(2);
    store.stop();
  });

  it('useEntity merges updates of its path', async () => {
    mockFetch(() => ({ builds: [{ buildid: 9, number: 1, state_string: 'building' }], meta: {} }));
    function C() {
      const e = useEntity<any>('builders/3/builds/1');
      return <span>{e.data?.state_string ?? '-'}</span>;
    }
    const { container } = render(<C />);
    await tick();
    expect(container.textContent).toBe('building');
    last().open();
    expect(last().cmds()).toEqual(['startConsuming builders/3/builds/1/*']);
    last().emit('builders/3/builds/1/finished', { buildid: 9, number: 1, state_string: 'build successful' });
    await act(() => flush());
    expect(container.textContent).toBe('build successful');
  });
});
