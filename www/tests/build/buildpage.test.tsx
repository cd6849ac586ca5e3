import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, waitFor } from '@testing-library/preact';
import Page, { controlErrorText } from '../../src/pages/build';
import { ApiError } from '../../src/api/rest';
import { __testing, flush } from '../../src/api/live';

const build = {
  buildid: 12, number: 7, builderid: 3, buildrequestid: 40, workerid: 2, masterid: 1, started_at: 1000,
  complete: false, complete_at: null, results: null, state_string: 'building', locks_duration_s: 0, properties: {},
};
const steps = [
  { stepid: 100, number: 0, name: 'checkout', buildid: 12, started_at: 1000, complete: true, complete_at: 1004, results: 0, state_string: 'updated', urls: [], hidden: false },
  { stepid: 101, number: 1, name: 'compile', buildid: 12, started_at: 1004, complete: false, complete_at: null, results: null, state_string: 'compiling', urls: [{ name: 'report', url: 'javascript:alert(1)' }], hidden: false },
];
const logs101 = [{ logid: 55, name: 'stdio', slug: 'stdio', stepid: 101, complete: false, num_lines: 3, type: 's' }];

let calls: string[] = [];
let posts: any[] = [];
let sent: string[] = [];
let socket: any;

function reply(body: unknown, status = 200) {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

beforeEach(() => {
  calls = [];
  posts = [];
  sent = [];
  __testing.setSocketFactory(() => {
    socket = { readyState: 1, send: (d: string) => sent.push(d), close() {}, onopen: null, onclose: null, onerror: null, onmessage: null };
    setTimeout(() => socket.onopen?.({}), 0);
    return socket;
  });
  vi.stubGlobal('fetch', async (url: string, init?: RequestInit) => {
    const u = String(url);
    if (init?.method === 'POST') {
      posts.push([u, JSON.parse(String(init.body))]);
      return reply({ jsonrpc: '2.0', id: 1, error: { code: -32600, message: "you need to have role 'admins'" } }, 403);
    }
    calls.push(u);
    if (u === 'api/v2/builders/3/builds/7') return reply({ builds: [build], meta: {} });
    if (u === 'api/v2/builds/12/steps') return reply({ steps, meta: { total: 2 } });
    if (u === 'api/v2/builds/12/properties')
      return reply({ properties: [{ buildername: ['linux', 'Builder'], workername: ['w-1', 'Worker'], owner: ['ann <ann@x.org>', 'Force'] }], meta: {} });
    if (u === 'api/v2/builds/12/changes') return reply({ changes: [], meta: { total: 0 } });
    if (u.startsWith('api/v2/builders/3/builds?')) return reply({ builds: [{ ...build, number: 9 }], meta: { total: 1 } });
    if (u === 'api/v2/steps/101/logs') return reply({ logs: logs101, meta: { total: 1 } });
    if (u.startsWith('api/v2/logs/55/contents')) return reply({ logchunks: [{ logid: 55, firstline: 0, content: 'hcmd\nogcc -c x.c\neerror: \x1b[31mboom\x1b[0m\n' }], meta: {} });
    return reply({ error: 'not found' }, 404);
  });
});

afterEach(() => {
  cleanup();
  __testing.reset();
  vi.unstubAllGlobals();
});

describe('build page', () => {
  it('loads with a handful of requests and shows steps, running step log tail and links', async () => {
    const { findByTestId, getByTestId, container } = render(<Page params={{ builderid: '3', buildnumber: '7' }} query={{}} />);
    await findByTestId('step-1');
    expect(getByTestId('build-result').textContent).toBe('RUNNING');
    await waitFor(() => expect(container.querySelector('[data-testid=log-preview] .log-e')?.textContent).toContain('error: boom'));
    expect(getByTestId('step-0').textContent).toContain('checkout');
    // the script URL is not a link
    expect(container.querySelector('a[href^="javascript"]')).toBeNull();
    expect(getByTestId('log-link-1-stdio').getAttribute('href')).toBe('#/builders/3/builds/7/steps/1/logs/stdio');
    expect(getByTestId('next-build').getAttribute('href')).toBe('#/builders/3/builds/8');
    expect(getByTestId('prev-build').getAttribute('href')).toBe('#/builders/3/builds/6');
    expect(container.textContent).toContain('w-1');
    // build, steps, properties, changes, newest build; + logs and tail of the running step
    const pageCalls = calls.filter((c) => !c.includes('/logs'));
    expect(pageCalls.length).toBe(5);
    expect(calls.filter((c) => c.includes('logs')).length).toBe(2);
    await waitFor(() => expect(sent.some((s) => s.includes('builds/12/steps/*/*'))).toBe(true));
  });

  it('applies live step updates', async () => {
    const { findByTestId, getByTestId } = render(<Page params={{ builderid: '3', buildnumber: '7' }} query={{}} />);
    await findByTestId('step-1');
    await waitFor(() => expect(socket?.onmessage).toBeTruthy());
    socket.onmessage({ data: JSON.stringify({ k: 'builds/12/steps/102/new', m: { ...steps[1], stepid: 102, number: 2, name: 'test', started_at: null } }) });
    socket.onmessage({ data: JSON.stringify({ k: 'builders/3/builds/7/finished', m: { ...build, complete: true, complete_at: 1100, results: 2, state_string: 'failed compile' } }) });
    flush();
    await findByTestId('step-2');
    await waitFor(() => expect(getByTestId('build-result').textContent).toBe('FAILURE'));
    expect(getByTestId('build-state').textContent).toBe('failed compile');
    expect(getByTestId('rebuild-button')).toBeTruthy();
  });

  it('shows a denied stop clearly', async () => {
    const { findByTestId } = render(<Page params={{ builderid: '3', buildnumber: '7' }} query={{}} />);
    fireEvent.click(await findByTestId('stop-button'));
    const err = await findByTestId('control-error');
    expect(err.textContent).toContain('not allowed to stop');
    expect(err.textContent).toContain("role 'admins'");
    expect(posts[0][0]).toBe('api/v2/builds/12');
    expect(posts[0][1].method).toBe('stop');
    expect(typeof posts[0][1].params.reason).toBe('string');
  });

  it('shows properties and responsible users', async () => {
    const { findByTestId, getByTestId } = render(<Page params={{ builderid: '3', buildnumber: '7' }} query={{ tab: 'properties' }} />);
    const props = await findByTestId('properties');
    expect(props.textContent).toContain('buildername');
    expect(props.textContent).toContain('linux');
    fireEvent.click(getByTestId('tab-responsible'));
    expect((await findByTestId('responsible')).textContent).toContain('ann');
  });

  it('says when the build does not exist', async () => {
    const { findByRole } = render(<Page params={{ builderid: '3', buildnumber: '99' }} query={{}} />);
    expect((await findByRole('alert')).textContent).toContain('does not exist');
  });

  it('words control errors', () => {
    expect(controlErrorText(new ApiError('nope', 403), 'stop')).toContain('not allowed to stop');
    expect(controlErrorText(new ApiError('boom', 500), 'rebuild')).toBe('Could not rebuild the build (500): boom');
    expect(controlErrorText(new Error('x'), 'stop')).toBe('Could not stop the build: x');
  });
});
