import { describe, expect, it } from 'vitest';
import { cellsByBuildset, cellState, fetchRequestsAndBuilds, upsertDesc, type Fetch } from '../../src/views/chain';
import { buildersInMatrix, buildsetsForChanges, consoleMatrix, groupBuildersByTag } from '../../src/views/console';
import { build, buildset, change, request, ss } from './fixtures';

describe('buildsetsForChanges', () => {
  it('matches by ssid, and by revision when no ssid matches', () => {
    const c1 = change(1, ss({ ssid: 10 }));
    const c2 = change(2, ss({ ssid: 20, revision: 'abc' }), 'abc');
    const c3 = change(3, ss({ ssid: 30 }));
    const m = buildsetsForChanges(
      [c1, c2, c3],
      [
        buildset(100, [ss({ ssid: 10 })]),
        buildset(101, [ss({ ssid: 10 }), ss({ ssid: 11, codebase: 'x' })]),
        buildset(102, [ss({ ssid: 21, revision: 'abc' })]),
        buildset(103, [ss({ ssid: 22, revision: 'abc', repository: 'other' })]),
      ],
    );
    expect(m.get(1)).toEqual([100, 101]);
    expect(m.get(2)).toEqual([102]);
    expect(m.get(3)).toEqual([]);
  });
});

describe('console matrix', () => {
  it('maps change → builder → requests with builds, retries newest first', () => {
    const requests = [
      request({ buildrequestid: 5, buildsetid: 100, builderid: 1 }),
      request({ buildrequestid: 6, buildsetid: 100, builderid: 2 }),
      request({ buildrequestid: 7, buildsetid: 101, builderid: 1 }),
    ];
    const builds = [
      build({ buildid: 1, buildrequestid: 5, builderid: 1, results: 5 }),
      build({ buildid: 2, buildrequestid: 5, builderid: 1, results: 0 }),
      build({ buildid: 3, buildrequestid: 7, builderid: 1, complete: false, results: null }),
    ];
    const cells = cellsByBuildset(requests, builds);
    expect(cells.get(100)!.get(1)![0].builds.map((b) => b.buildid)).toEqual([2, 1]);
    expect(cells.get(100)!.get(2)![0].builds).toEqual([]);

    const changes = [change(1, ss({ ssid: 10 })), change(2, ss({ ssid: 20 }))];
    const matrix = consoleMatrix(changes, new Map([[1, [100, 101]], [2, []]]), cells);
    const row = matrix.get(1)!;
    expect(row.get(1)!.map((c) => c.request.buildrequestid)).toEqual([5, 7]);
    expect(cellState(row.get(1)!)).toEqual({ results: null, state: 'running' });
    expect(cellState(row.get(2)!)).toEqual({ results: null, state: 'pending' });
    expect(cellState(cells.get(100)!.get(1)!)).toEqual({ results: 0, state: 'done' });
    expect(matrix.get(2)!.size).toBe(0);
    expect([...buildersInMatrix(matrix)].sort()).toEqual([1, 2]);
  });
  it('reports a completed request without builds (cancelled) by its results', () => {
    const cells = [{ request: request({ buildrequestid: 1, buildsetid: 1, complete: true, results: 6 }), builds: [] }];
    expect(cellState(cells)).toEqual({ results: 6, state: 'done' });
    expect(cellState([])).toEqual({ results: null, state: 'pending' });
  });
});

describe('fetchRequestsAndBuilds', () => {
  it('makes two calls with __ge filters on the smallest ids and keeps only related rows', async () => {
    const calls: [string, Record<string, unknown>][] = [];
    const fetch: Fetch = async <T,>(path: string, q: Record<string, string | number | boolean>) => {
      calls.push([path, q]);
      if (path === 'buildrequests')
        return [
          request({ buildrequestid: 8, buildsetid: 7 }),
          request({ buildrequestid: 9, buildsetid: 8 }),
          request({ buildrequestid: 10, buildsetid: 9 }),
        ] as T[];
      return [build({ buildid: 1, buildrequestid: 8 }), build({ buildid: 2, buildrequestid: 9 }), build({ buildid: 3, buildrequestid: 10 })] as T[];
    };
    const r = await fetchRequestsAndBuilds(fetch, [9, 7]);
    expect(calls).toEqual([
      ['buildrequests', { buildsetid__ge: 7 }],
      ['builds', { buildrequestid__ge: 8 }],
    ]);
    expect(r.requests.map((x) => x.buildrequestid)).toEqual([8, 10]);
    expect(r.builds.map((x) => x.buildid)).toEqual([1, 3]);
  });
  it('makes no call without buildsets', async () => {
    let n = 0;
    const fetch: Fetch = async () => {
      n++;
      return [];
    };
    expect(await fetchRequestsAndBuilds(fetch, [])).toEqual({ requests: [], builds: [] });
    expect(n).toBe(0);
  });
});

describe('groupBuildersByTag', () => {
  const b = (builderid: number, name: string, tags: string[]) => ({ builderid, name, tags });
  it('groups by first sorted tag, untagged last, and can restrict to some builders', () => {
    const builders = [b(1, 'z', ['ci']), b(2, 'a', ['ci', 'alpha']), b(3, 'm', []), b(4, 'k', ['ci'])];
    expect(groupBuildersByTag(builders).map((g) => [g.tag, g.builders.map((x) => x.name)])).toEqual([
      ['alpha', ['a']],
      ['ci', ['k', 'z']],
      ['', ['m']],
    ]);
    expect(groupBuildersByTag(builders, new Set([1, 3])).map((g) => g.tag)).toEqual(['ci', '']);
  });
});

describe('upsertDesc', () => {
  it('replaces by key, inserts sorted, and trims to the limit', () => {
    const key = (x: { id: number; v?: string }) => x.id;
    const list = [{ id: 3 }, { id: 1 }];
    expect(upsertDesc(list, { id: 1, v: 'x' }, key)).toEqual([{ id: 3 }, { id: 1, v: 'x' }]);
    expect(upsertDesc(list, { id: 2 }, key)).toEqual([{ id: 3 }, { id: 2 }, { id: 1 }]);
    expect(upsertDesc(list, { id: 5 }, key, 2)).toEqual([{ id: 5 }, { id: 3 }]);
  });
});
