import { describe, it, expect, vi, afterEach } from 'vitest';
import { groupBuilds, applyBuildEvent, applyRequestEvent, fetchBuilders } from '../../src/api/builders';
import { filterBuilders, parseTags } from '../../src/pages/builders';

afterEach(() => vi.unstubAllGlobals());

const bd = (id: number, name: string, tags: string[] = [], extra = {}) => ({
  builderid: id,
  name,
  tags,
  masterids: [1],
  recent_builds: [] as any[],
  running: 0,
  pending: 0,
  ...extra,
});
const build = (buildid: number, builderid: number, number: number, complete = true, results: number | null = 0) => ({
  buildid,
  builderid,
  number,
  complete,
  results,
  started_at: 1,
  complete_at: complete ? 2 : null,
  state_string: '',
});

describe('builders summary', () => {
  it('groups builds per builder', () => {
    const g = groupBuilds([bd(1, 'a'), bd(2, 'b')], [build(5, 1, 3, false, null), build(4, 1, 2), build(3, 2, 1), build(2, 1, 1)], 2);
    expect(g[0].recent_builds.map((b) => b.number)).toEqual([3, 2]);
    expect(g[0].running).toBe(1);
    expect(g[1].recent_builds).toHaveLength(1);
  });
  it('applies build events', () => {
    let l = [bd(1, 'a', [], { recent_builds: [build(1, 1, 1)] })];
    l = applyBuildEvent(l, 'builds/2/new', build(2, 1, 2, false, null), 2);
    expect(l[0].running).toBe(1);
    expect(l[0].recent_builds.map((b) => b.number)).toEqual([2, 1]);
    l = applyBuildEvent(l, 'builds/2/update', { ...build(2, 1, 2, false, null), state_string: 'building' }, 2);
    expect(l[0].running).toBe(1);
    l = applyBuildEvent(l, 'builds/2/finished', build(2, 1, 2, true, 2), 2);
    expect(l[0].running).toBe(0);
    expect(l[0].recent_builds[0].results).toBe(2);
    l = applyBuildEvent(l, 'builds/3/new', build(3, 1, 3, false, null), 2);
    expect(l[0].recent_builds.map((b) => b.number)).toEqual([3, 2]);
    const same = applyBuildEvent(l, 'builds/9/new', build(9, 42, 1, false, null), 2);
    expect(same).toBe(l);
  });
  it('counts pending requests', () => {
    let l = [bd(1, 'a')];
    l = applyRequestEvent(l, 'buildrequests/1/new', { builderid: 1, claimed: false });
    l = applyRequestEvent(l, 'buildrequests/2/new', { builderid: 1, claimed: false });
    expect(l[0].pending).toBe(2);
    l = applyRequestEvent(l, 'buildrequests/1/claimed', { builderid: 1, claimed: true });
    l = applyRequestEvent(l, 'buildrequests/2/complete', { builderid: 1, claimed: false, claimed_at: null });
    expect(l[0].pending).toBe(0);
  });
  it('filters by tags and search', () => {
    const l = [bd(1, 'linux-x', ['linux', 'fast']), bd(2, 'win', ['windows']), bd(3, 'old', ['linux'], { masterids: [] })];
    expect(filterBuilders(l, ['linux'], '', false).map((b) => b.name)).toEqual(['linux-x']);
    expect(filterBuilders(l, ['linux'], '', true).map((b) => b.name)).toEqual(['linux-x', 'old']);
    expect(filterBuilders(l, [], 'WIN', false).map((b) => b.name)).toEqual(['win']);
    expect(filterBuilders(l, ['linux', 'fast'], '', false)).toHaveLength(1);
    expect(parseTags('a, b,,c')).toEqual(['a', 'b', 'c']);
  });
  it('falls back without the aggregate endpoint', async () => {
    const urls: string[] = [];
    vi.stubGlobal(
      'fetch',
      vi.fn(async (url: string) => {
        urls.push(url);
        if (url.startsWith('ui-api/')) return { ok: false, status: 404, statusText: 'Not Found', text: async () => '{"error":"not found"}' };
        const body = url.startsWith('api/v2/builders')
          ? { builders: [{ builderid: 1, name: 'a', tags: [], masterids: [1] }], meta: { total: 1 } }
          : { builds: [build(1, 1, 1)], meta: { total: 1 } };
        return { ok: true, status: 200, json: async () => body };
      }),
    );
    const r = await fetchBuilders(5);
    expect(r.fallback).toBe(true);
    expect(r.builders[0].recent_builds).toHaveLength(1);
    expect(urls).toEqual(['ui-api/builders?builds=5', 'api/v2/builders', 'api/v2/builds?limit=1000&order=-buildid']);
  });
});
