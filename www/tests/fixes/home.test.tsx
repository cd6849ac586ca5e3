import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { act, cleanup, render, waitFor } from '@testing-library/preact';
import { __testing, flush } from '../../src/api/live';
import HomePage from '../../src/pages/home';
import { build } from '../others/fixtures';
import { FakeSocket, mockFetch } from './helpers';

let calls: string[] = [];
const done = build({ buildid: 1, number: 1, builderid: 1 });
const running = build({ buildid: 2, number: 2, builderid: 1, complete: false, complete_at: null, results: null, state_string: 'building' });

beforeEach(() => {
  __testing.reset();
  __testing.setSocketFactory((url) => new FakeSocket(url));
  calls = mockFetch((url) => {
    if (url.startsWith('ui-api/builders'))
      return { builders: [{ builderid: 1, name: 'chatty', masterids: [1], tags: [], recent_builds: [running], pending: 0, running: 1 }], meta: {} };
    if (url.startsWith('api/v2/builds?complete=false')) return { builds: [running], meta: {} };
    if (url.startsWith('api/v2/builds?complete=true')) return { builds: [done], meta: {} };
    return undefined;
  });
});

afterEach(() => {
  cleanup();
  __testing.reset();
  vi.unstubAllGlobals();
});

describe('home page', () => {
  it('lists only finished builds under "Recent builds", live', async () => {
    const r = render(<HomePage params={{}} query={{}} />);
    await waitFor(() => expect(r.getByTestId('home-recent').textContent).toContain('#1'));
    expect(calls).toContain('api/v2/builds?complete=true&limit=20&order=-buildid');
    expect(r.getByTestId('home-running').textContent).toContain('#2');
    expect(r.getByTestId('home-recent').textContent).not.toContain('#2');
    // a new running build stays out of the recent list; it enters when it finishes
    const third = { ...running, buildid: 3, number: 3 };
    await act(async () => {
      FakeSocket.last!.emit('builds/3/new', third);
      flush();
    });
    await waitFor(() => expect(r.getByTestId('home-running').textContent).toContain('#3'));
    expect(r.getByTestId('home-recent').textContent).not.toContain('#3');
    await act(async () => {
      FakeSocket.last!.emit('builds/3/finished', { ...third, complete: true, complete_at: 1200, results: 0 });
      flush();
    });
    await waitFor(() => expect(r.getByTestId('home-recent').textContent).toContain('#3'));
    expect(r.getByTestId('home-running').textContent).not.toContain('#3');
  });
});
