import type { Build, Builder, Master, WorkerEntity } from './types';

/** Builds grouped by worker id, newest first in each group. Builds without a worker are dropped. */
export function groupBuildsByWorker(builds: Build[]): Map<number, Build[]> {
  const out = new Map<number, Build[]>();
  for (const b of builds) {
    if (b.workerid == null) continue;
    let list = out.get(b.workerid);
    if (!list) out.set(b.workerid, (list = []));
    list.push(b);
  }
  for (const list of out.values()) list.sort((a, b) => b.buildid - a.buildid);
  return out;
}

/** Distinct builders a worker is configured for (all masters), sorted by name. */
export function workerBuilders(w: WorkerEntity, builders: Map<number, Builder>): Builder[] {
  const seen = new Set<number>();
  const out: Builder[] = [];
  for (const c of w.configured_on ?? []) {
    if (seen.has(c.builderid)) continue;
    seen.add(c.builderid);
    const b = builders.get(c.builderid);
    out.push(b ?? { builderid: c.builderid, name: `#${c.builderid}`, tags: [] });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/** Names of the masters a worker is connected to ('' list when disconnected). */
export function connectedMasters(w: WorkerEntity, masters: Map<number, Master>): string[] {
  return (w.connected_to ?? []).map((c) => masters.get(c.masterid)?.name ?? `master #${c.masterid}`);
}

/** A short state word for a worker, used for the status dot and sorting. */
export function workerState(w: WorkerEntity): 'paused' | 'graceful' | 'connected' | 'offline' {
  if (w.paused) return 'paused';
  if (w.graceful) return 'graceful';
  return (w.connected_to ?? []).length ? 'connected' : 'offline';
}

/** Merge a worker entity arriving on /ws into a list (by workerid), keeping name order. */
export function mergeWorker(list: WorkerEntity[], w: WorkerEntity): WorkerEntity[] {
  const i = list.findIndex((x) => x.workerid === w.workerid);
  if (i >= 0) {
    const copy = list.slice();
    copy[i] = { ...list[i], ...w };
    return copy;
  }
  return [...list, w].sort((a, b) => a.name.localeCompare(b.name));
}
