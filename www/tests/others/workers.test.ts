import { describe, expect, it } from 'vitest';
import { connectedMasters, groupBuildsByWorker, mergeWorker, workerBuilders, workerState } from '../../src/views/workers';
import type { WorkerEntity } from '../../src/views/types';
import { build } from './fixtures';

const worker = (p: Partial<WorkerEntity> & { workerid: number; name: string }): WorkerEntity => ({
  connected_to: [],
  configured_on: [],
  workerinfo: {},
  paused: false,
  graceful: false,
  ...p,
});

describe('groupBuildsByWorker', () => {
  it('groups by workerid, newest first, and drops builds without a worker', () => {
    const g = groupBuildsByWorker([
      build({ buildid: 1, workerid: 7 }),
      build({ buildid: 3, workerid: 7 }),
      build({ buildid: 2, workerid: 8 }),
      build({ buildid: 4, workerid: null }),
    ]);
    expect([...g.keys()].sort()).toEqual([7, 8]);
    expect(g.get(7)!.map((b) => b.buildid)).toEqual([3, 1]);
    expect(g.get(8)!.map((b) => b.buildid)).toEqual([2]);
  });
  it('returns an empty map for no builds', () => {
    expect(groupBuildsByWorker([]).size).toBe(0);
  });
});

describe('worker helpers', () => {
  const builders = new Map([
    [1, { builderid: 1, name: 'zeta', tags: [] }],
    [2, { builderid: 2, name: 'alpha', tags: [] }],
  ]);
  it('lists distinct builders by name, with placeholders for unknown ids', () => {
    const w = worker({
      workerid: 1,
      name: 'w',
      configured_on: [
        { masterid: 1, builderid: 1 },
        { masterid: 2, builderid: 1 },
        { masterid: 1, builderid: 2 },
        { masterid: 1, builderid: 9 },
      ],
    });
    expect(workerBuilders(w, builders).map((b) => b.name)).toEqual(['#9', 'alpha', 'zeta']);
  });
  it('names connected masters', () => {
    const masters = new Map([[1, { masterid: 1, name: 'host:/m', active: true, last_active: 0 }]]);
    const w = worker({ workerid: 1, name: 'w', connected_to: [{ masterid: 1 }, { masterid: 5 }] });
    expect(connectedMasters(w, masters)).toEqual(['host:/m', 'master #5']);
  });
  it('derives the state word', () => {
    expect(workerState(worker({ workerid: 1, name: 'w' }))).toBe('offline');
    expect(workerState(worker({ workerid: 1, name: 'w', connected_to: [{ masterid: 1 }] }))).toBe('connected');
    expect(workerState(worker({ workerid: 1, name: 'w', graceful: true }))).toBe('graceful');
    expect(workerState(worker({ workerid: 1, name: 'w', paused: true, graceful: true }))).toBe('paused');
  });
  it('merges live worker updates by id and inserts new ones in name order', () => {
    const list = [worker({ workerid: 1, name: 'b' }), worker({ workerid: 2, name: 'd' })];
    const upd = mergeWorker(list, worker({ workerid: 2, name: 'd', paused: true }));
    expect(upd[1].paused).toBe(true);
    expect(list[1].paused).toBe(false);
    expect(mergeWorker(list, worker({ workerid: 3, name: 'c' })).map((w) => w.name)).toEqual(['b', 'c', 'd']);
  });
});
