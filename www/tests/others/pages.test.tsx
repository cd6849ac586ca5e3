import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { act, cleanup, fireEvent, render } from '@testing-library/preact';
import { __testing, flush } from '../../src/api/live';
import SchedulersPage from '../../src/pages/schedulers';
import WorkersPage from '../../src/pages/workers';
import PendingPage from '../../src/pages/pending';
import { unionById, upsertById } from '../../src/views/useChain';
import { build } from './fixtures';

class FakeSocket {
  static last: FakeSocket | null = null;
  readyState = 0;
  onopen: ((ev: any) => void) | null = null;
  onclose: ((ev: any) => void) | null = null;
  onerror: ((ev: any) => void) | null = null;
  onmessage: ((ev: { data: any }) => void) | null = null;
  constructor(public url: string) {
    FakeSocket.last = this;
  }
  send() {}
  close() {
    this.readyState = 3;
  }
  emit(k: string, m: any) {
    this.onmessage?.({ data: JSON.stringify({ k, m }) });
  }
}

interface Call {
  url: string;
  method: string;
  body: any;
}

/** fetch mock: GETs answered by `get(url)`, POSTs by `post(url, body)` → [status, body]. */
function mockFetch(get: (url: string) => any, post: (url: string, body: any) => [number, any] = () => [200, { result: null }]) {
  const calls: Call[] = [];
  vi.stubGlobal(
    'fetch',
    vi.fn(async (url: string, init?: RequestInit) => {
      const method = init?.method ?? 'GET';
      const body = init?.body ? JSON.parse(String(init.body)) : null;
      calls.push({ url, method, body });
      const [status, out] = method === 'POST' ? post(url, body) : [200, get(url)];
      const text = JSON.stringify(out);
      return { ok: status < 400, status, statusText: String(status), json: async () => out, text: async () => text };
    }),
  );
  return calls;
}

const tick = () =>
  act(async () => {
    for (let i = 0; i < 3; i++) await new Promise((r) => setTimeout(r, 0));
  });

beforeEach(() => {
  __testing.reset();
  __testing.setSocketFactory((url) => new FakeSocket(url));
});
afterEach(() => {
  cleanup();
  __testing.reset();
  vi.unstubAllGlobals();
});

describe('schedulers page', () => {
  it('toggles a scheduler with `enable` and shows a 403 error', async () => {
    let denied = false;
    const calls = mockFetch(
      () => ({ schedulers: [{ schedulerid: 3, name: 'nightly', enabled: true, master: { masterid: 1, name: 'm1', active: true, last_active: 0 } }], meta: {} }),
      () => (denied ? [403, { jsonrpc: '2.0', id: 1, error: { code: -32600, message: "you need to have role 'admins'" } }] : [200, { result: null }]),
    );
    const r = render(<SchedulersPage params={{}} query={{}} />);
    await tick();
    const box = r.getByTestId('scheduler-toggle-nightly') as HTMLInputElement;
    expect(box.checked).toBe(true);
    fireEvent.change(box);
    await tick();
    const post = calls.find((c) => c.method === 'POST')!;
    expect(post.url).toBe('api/v2/schedulers/3');
    expect(post.body).toMatchObject({ jsonrpc: '2.0', method: 'enable', params: { enabled: false } });
    // the updated event arrives over /ws
    await act(async () => {
      FakeSocket.last!.emit('schedulers/3/updated', { schedulerid: 3, name: 'nightly', enabled: false, master: null });
      flush();
    });
    expect((r.getByTestId('scheduler-toggle-nightly') as HTMLInputElement).checked).toBe(false);
    denied = true;
    fireEvent.click(r.getByTestId('scheduler-toggle-nightly')); // flips the box, fires change
    await tick();
    expect(r.getByRole('alert').textContent).toContain("Not allowed: you need to have role 'admins'");
    // a denied toggle does not stay flipped
    expect((r.getByTestId('scheduler-toggle-nightly') as HTMLInputElement).checked).toBe(false);
  });
});

describe('workers page', () => {
  it('loads with few calls, groups running builds and pauses with a reason', async () => {
    const calls = mockFetch((url) => {
      if (url.startsWith('api/v2/workers'))
        return {
          workers: [
            { workerid: 1, name: 'w1', connected_to: [{ masterid: 1 }], configured_on: [{ masterid: 1, builderid: 7 }], workerinfo: {}, paused: false, graceful: false },
            { workerid: 2, name: 'w2', connected_to: [], configured_on: [], workerinfo: {}, paused: true, pause_reason: 'disk full', graceful: false },
          ],
          meta: {},
        };
      if (url.startsWith('api/v2/builds?complete=false')) return { builds: [build({ buildid: 9, number: 4, builderid: 7, workerid: 1, complete: false, results: null })], meta: {} };
      if (url.startsWith('api/v2/builds')) return { builds: [], meta: {} };
      if (url.startsWith('api/v2/builders')) return { builders: [{ builderid: 7, name: 'linux', tags: [] }], meta: {} };
      if (url.startsWith('api/v2/masters')) return { masters: [{ masterid: 1, name: 'host:/m', active: true, last_active: 0 }], meta: {} };
      return {};
    });
    const r = render(<WorkersPage params={{}} query={{}} />);
    await tick();
    expect(calls.filter((c) => c.method === 'GET')).toHaveLength(5);
    const table = r.getByTestId('workers-table');
    expect(table.textContent).toContain('host:/m');
    expect(table.textContent).toContain('linux #4');
    expect(r.getByTestId('worker-state-w2').textContent).toContain('paused: disk full');
    expect(r.getByTestId('unpause-w2')).toBeTruthy();
    fireEvent.input(r.getByTestId('worker-action-reason'), { target: { value: 'upgrade' } });
    fireEvent.click(r.getByTestId('pause-w1'));
    await tick();
    const post = calls.find((c) => c.method === 'POST')!;
    expect(post.url).toBe('api/v2/workers/1');
    expect(post.body).toMatchObject({ method: 'pause', params: { reason: 'upgrade' } });
  });
});

describe('pending page', () => {
  it('shows unclaimed requests with their buildset and cancels one', async () => {
    const calls = mockFetch((url) => {
      if (url.startsWith('api/v2/buildrequests'))
        return {
          buildrequests: [
            { buildrequestid: 5, buildsetid: 2, builderid: 7, priority: 3, claimed: false, complete: false, results: -1, submitted_at: 1, properties: { owner: ['me', 'Force'] } },
          ],
          meta: {},
        };
      if (url.startsWith('api/v2/buildsets'))
        return { buildsets: [{ bsid: 2, reason: 'forced by me', sourcestamps: [{ ssid: 1, branch: 'main', revision: null, repository: 'r', codebase: '' }] }], meta: {} };
      if (url.startsWith('api/v2/builders')) return { builders: [{ builderid: 7, name: 'linux', tags: [] }], meta: {} };
      return {};
    });
    const r = render(<PendingPage params={{}} query={{}} />);
    await tick();
    const gets = calls.filter((c) => c.method === 'GET').map((c) => c.url);
    expect(gets).toHaveLength(3);
    expect(gets.find((u) => u.startsWith('api/v2/buildrequests'))).toBe(
      'api/v2/buildrequests?claimed=false&complete=false&order=-priority&order=submitted_at&property=*',
    );
    const table = r.getByTestId('pending-table');
    expect(table.textContent).toContain('forced by me');
    expect(table.textContent).toContain('owner: me');
    fireEvent.click(r.getByTestId('cancel-5'));
    await tick();
    const post = calls.find((c) => c.method === 'POST')!;
    expect(post.url).toBe('api/v2/buildrequests/5');
    expect(post.body.method).toBe('cancel');
    // the claimed/complete event removes the row
    await act(async () => {
      FakeSocket.last!.emit('buildrequests/5/complete', { buildrequestid: 5, buildsetid: 2, builderid: 7, claimed: false, complete: true, results: 6 });
      flush();
    });
    expect(r.queryByTestId('cancel-5')).toBeNull();
  });
});

describe('chain merging helpers', () => {
  it('unions fresh rows with kept old rows and upserts by id', () => {
    const id = (x: { id: number }) => x.id;
    expect(unionById([{ id: 1, v: 'new' }], [{ id: 1, v: 'old' }, { id: 2, v: 'x' }, { id: 3, v: 'y' }], id, (x) => x.id !== 3)).toEqual([
      { id: 1, v: 'new' },
      { id: 2, v: 'x' },
    ]);
    expect(upsertById([{ id: 1, v: 'a' }], { id: 1, v: 'b' }, id)).toEqual([{ id: 1, v: 'b' }]);
    expect(upsertById([{ id: 1, v: 'a' }], { id: 2, v: 'b' }, id)).toHaveLength(2);
  });
});
