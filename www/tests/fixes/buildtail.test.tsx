import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { act, cleanup, render, waitFor } from '@testing-library/preact';
import { __testing, flush } from '../../src/api/live';
import Page from '../../src/pages/build';
import { LogTail } from '../../src/logviewer/LogTail';
import { FakeSocket, mockFetch } from './helpers';

const build = {
  buildid: 12, number: 1, builderid: 3, buildrequestid: 40, workerid: 2, masterid: 1, started_at: 1000,
  complete: false, complete_at: null, results: null, state_string: 'building', properties: {},
};
const step = { stepid: 101, number: 1, name: 'chatter', buildid: 12, started_at: 1004, complete: false, complete_at: null, results: null, state_string: 'running', urls: [], hidden: false };
const log = { logid: 55, name: 'stdio', slug: 'stdio', stepid: 101, complete: false, num_lines: 0, type: 's' };

/** `n` lines of stdout: `line 1` .. `line n`, from offset `o`. */
const lines = (o: number, n: number) => Array.from({ length: n }, (_, i) => `oline ${o + i + 1}\n`).join('');
let calls: string[] = [];

beforeEach(() => {
  __testing.reset();
  __testing.setSocketFactory((url) => new FakeSocket(url));
  calls = mockFetch((url) => {
    if (url === 'api/v2/builders/3/builds/1') return { builds: [build], meta: {} };
    if (url === 'api/v2/builds/12/steps') return { steps: [step], meta: { total: 1 } };
    if (url === 'api/v2/builds/12/properties') return { properties: [{}], meta: {} };
    if (url === 'api/v2/builds/12/changes') return { changes: [], meta: { total: 0 } };
    if (url.startsWith('api/v2/builders/3/builds?')) return { builds: [build], meta: { total: 1 } };
    if (url === 'api/v2/steps/101/logs') return { logs: [log], meta: { total: 1 } };
    const m = /^api\/v2\/logs\/55\/contents\?offset=(\d+)&limit=(\d+)$/.exec(url);
    if (m) return { logchunks: [{ logid: 55, firstline: Number(m[1]), content: lines(Number(m[1]), Number(m[2])) }], meta: {} };
    return undefined;
  });
});

afterEach(() => {
  cleanup();
  __testing.reset();
  vi.unstubAllGlobals();
});

const emit = (k: string, m: any) =>
  act(async () => {
    FakeSocket.last!.emit(k, m);
    flush();
  });

describe('running step preview', () => {
  it('follows the log by its own events (logs/<id>/*) and shows its last lines', async () => {
    const r = render(<Page params={{ builderid: '3', buildnumber: '1' }} query={{}} />);
    await waitFor(() => expect(r.getByTestId('step-1').textContent).toContain('0 lines'));
    expect(r.getByTestId('step-1').textContent).toContain('No output yet');
    await waitFor(() => expect(FakeSocket.last!.sent.some((s) => s.path === 'logs/55/*')).toBe(true));
    await emit('logs/55/append', { ...log, num_lines: 100 });
    await waitFor(() => expect(r.getByTestId('log-preview').textContent).toContain('line 100'));
    expect(r.getByTestId('step-1').textContent).toContain('100 lines');
    expect(calls).toContain('api/v2/logs/55/contents?offset=88&limit=12');
    expect(r.getByTestId('log-preview').textContent).not.toContain('line 88\n');
  });

  it('build #1 has no previous-build link', async () => {
    const r = render(<Page params={{ builderid: '3', buildnumber: '1' }} query={{}} />);
    await waitFor(() => r.getByTestId('build-result'));
    expect(r.queryByTestId('prev-build')).toBeNull();
    expect(r.container.textContent).not.toContain('#0');
  });
});

describe('LogTail', () => {
  it('shows a spinner until the first tail arrives, then the last lines', async () => {
    let release!: () => void;
    const fetchLines = vi.fn((o: number, n: number) => new Promise<string>((res) => (release = () => res(lines(o, n)))));
    const r = render(<LogTail numLines={40} logType="s" fetchLines={fetchLines} intervalMs={10} />);
    await waitFor(() => expect(fetchLines).toHaveBeenCalledWith(28, 12));
    expect(r.container.querySelector('.bb-spinner')).not.toBeNull();
    await act(async () => release());
    await waitFor(() => expect(r.getByTestId('log-preview').textContent).toContain('line 40'));
    expect(r.container.querySelector('.bb-spinner')).toBeNull();
  });
});
