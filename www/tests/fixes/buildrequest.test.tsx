import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { act, cleanup, render, waitFor } from '@testing-library/preact';
import { __testing, flush } from '../../src/api/live';
import Page, { followTarget } from '../../src/pages/buildrequest';
import { build, request } from '../others/fixtures';
import { FakeSocket, mockFetch, tick } from './helpers';

let builds: any[] = [];
let calls: string[] = [];

beforeEach(() => {
  __testing.reset();
  __testing.setSocketFactory((url) => new FakeSocket(url));
  history.replaceState(null, '', '#/buildrequests/5');
  builds = [];
  calls = mockFetch((url) => {
    if (url.startsWith('api/v2/buildrequests/5/builds')) return { builds, meta: { total: builds.length } };
    if (url.startsWith('api/v2/buildrequests/5')) return { buildrequests: [request({ buildrequestid: 5, buildsetid: 2, builderid: 7, claimed: builds.length > 0 })], meta: {} };
    if (url.startsWith('api/v2/buildsets/2')) return { buildsets: [{ bsid: 2, reason: 'forced', submitted_at: 1, sourcestamps: [] }], meta: {} };
    if (url.startsWith('api/v2/builders')) return { builders: [{ builderid: 7, name: 'linux', tags: [] }], meta: {} };
    return undefined;
  });
});

afterEach(() => {
  cleanup();
  __testing.reset();
  vi.unstubAllGlobals();
});

describe('followTarget', () => {
  const b = (buildid: number, number: number) => build({ buildid, number, builderid: 7, buildrequestid: 5 });
  it('follows the first build of the request', () => {
    expect(followTarget([b(9, 4), b(8, 3)], false, true)).toBe('/builders/7/builds/3');
    expect(followTarget([b(8, 3)], false, false)).toBe('/builders/7/builds/3');
  });
  it('without follow, stays when the build was there at load', () => {
    expect(followTarget([b(8, 3)], true, false)).toBeNull();
    expect(followTarget([], false, true)).toBeNull();
    expect(followTarget([b(8, 3)], null, true)).toBeNull();
  });
});

describe('build request page', () => {
  it('with follow, goes to a build that started before the page loaded', async () => {
    builds = [build({ buildid: 8, number: 3, builderid: 7, buildrequestid: 5, complete: false })];
    render(<Page params={{ buildrequestid: '5' }} query={{ follow: '1' }} />);
    await waitFor(() => expect(location.hash).toBe('#/builders/7/builds/3'));
  });

  it('without follow, shows the request of a build already started', async () => {
    builds = [build({ buildid: 8, number: 3, builderid: 7, buildrequestid: 5, complete: false })];
    const r = render(<Page params={{ buildrequestid: '5' }} query={{}} />);
    await waitFor(() => expect(r.getByTestId('buildrequest-builds').textContent).toContain('#3'));
    await tick();
    expect(location.hash).toBe('#/buildrequests/5');
  });

  it('with follow, goes to a build that starts later', async () => {
    render(<Page params={{ buildrequestid: '5' }} query={{ follow: '1' }} />);
    await tick();
    expect(location.hash).toBe('#/buildrequests/5');
    builds = [build({ buildid: 8, number: 3, builderid: 7, buildrequestid: 5, complete: false })];
    await act(async () => {
      FakeSocket.last!.emit('builders/7/builds/8/new', builds[0]);
      flush();
    });
    await waitFor(() => expect(location.hash).toBe('#/builders/7/builds/3'));
  });

  it('with follow, a claim event (build event missed) makes it look again', async () => {
    render(<Page params={{ buildrequestid: '5' }} query={{ follow: '1' }} />);
    await tick();
    builds = [build({ buildid: 8, number: 3, builderid: 7, buildrequestid: 5, complete: false })];
    await act(async () => {
      FakeSocket.last!.emit('buildrequests/5/claimed', { ...request({ buildrequestid: 5, buildsetid: 2, builderid: 7 }), claimed: true });
      flush();
    });
    await waitFor(() => expect(location.hash).toBe('#/builders/7/builds/3'));
  });
});
