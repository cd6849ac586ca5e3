import { describe, expect, it } from 'vitest';
import { ChunkCache, LogLoader } from '../../src/logviewer/chunks';

const lines = (from: number, n: number) => Array.from({ length: n }, (_, i) => ({ stream: 'o' as const, text: `line ${from + i}` }));

/** A fake `contents` endpoint over a log of `total()` lines; records the requests. */
function fakeLog(total: () => number) {
  const calls: Array<[number, number]> = [];
  const fetcher = async (offset: number, limit: number) => {
    calls.push([offset, limit]);
    let s = '';
    for (let i = offset; i < Math.min(offset + limit, total()); i++) s += `oline ${i}\n`;
    return s;
  };
  return { calls, fetcher };
}

describe('ChunkCache', () => {
  it('lists the chunks covering a range, clipped to the log', () => {
    const c = new ChunkCache(100, 10);
    c.setTotal(450);
    expect(c.chunksFor(0, 10)).toEqual([0]);
    expect(c.chunksFor(95, 205)).toEqual([0, 1, 2]);
    expect(c.chunksFor(400, 10_000)).toEqual([4]);
    expect(c.chunksFor(500, 600)).toEqual([]);
    expect(c.expectedLines(4)).toBe(50);
    expect(c.expectedLines(5)).toBe(0);
  });

  it('asks only for what is missing', () => {
    const c = new ChunkCache(100, 10);
    c.setTotal(450);
    expect(c.missing(150, 250)).toEqual([
      { chunk: 1, offset: 100, limit: 100 },
      { chunk: 2, offset: 200, limit: 100 },
    ]);
    c.put(1, 100, lines(100, 100));
    expect(c.missing(150, 250)).toEqual([{ chunk: 2, offset: 200, limit: 100 }]);
    expect(c.line(150)?.text).toBe('line 150');
    expect(c.line(250)).toBeUndefined();
  });

  it('fetches only the new tail of a growing last chunk', () => {
    const c = new ChunkCache(100, 10);
    c.setTotal(130);
    c.put(1, 100, lines(100, 30));
    expect(c.isComplete(1)).toBe(true);
    c.setTotal(175);
    expect(c.isComplete(1)).toBe(false);
    expect(c.missing(100, 175)).toEqual([{ chunk: 1, offset: 130, limit: 45 }]);
    c.put(1, 130, lines(130, 45));
    expect(c.line(174)?.text).toBe('line 174');
    expect(c.line(129)?.text).toBe('line 129');
  });

  it('ignores pieces that would leave a hole, and clips to the chunk', () => {
    const c = new ChunkCache(100, 10);
    c.setTotal(300);
    c.put(0, 50, lines(50, 10));
    expect(c.has(0)).toBe(false);
    c.put(0, 0, lines(0, 150));
    expect(c.line(99)?.text).toBe('line 99');
    expect(c.missing(0, 100)).toEqual([]);
  });

  it('evicts the least recently used chunks, never the kept ones', () => {
    const c = new ChunkCache(10, 3);
    c.setTotal(100);
    for (const k of [0, 1, 2, 3]) c.put(k, k * 10, lines(k * 10, 10));
    expect(c.evict(new Set([0]))).toEqual([1]);
    expect(c.size).toBe(3);
    c.touch([2]);
    c.put(4, 40, lines(40, 10));
    expect(c.evict()).toEqual([0]);
    expect([0, 1, 2, 3, 4].filter((k) => c.has(k))).toEqual([2, 3, 4]);
  });

  it('empties itself when the log shrinks', () => {
    const c = new ChunkCache(10, 3);
    c.setTotal(20);
    c.put(0, 0, lines(0, 10));
    c.setTotal(5);
    expect(c.has(0)).toBe(false);
  });

  it('does not refetch a short chunk until the log changes', () => {
    const c = new ChunkCache(10, 3);
    c.setTotal(20);
    c.put(1, 10, lines(10, 5));
    c.block(1);
    expect(c.missing(10, 20)).toEqual([]);
    c.setTotal(21);
    expect(c.missing(10, 20)).toEqual([{ chunk: 1, offset: 15, limit: 5 }]);
  });
});

describe('LogLoader', () => {
  it('loads a window of a big log with one request per chunk, never the whole log', async () => {
    let total = 200_000;
    const log = fakeLog(() => total);
    const loader = new LogLoader(log.fetcher, 's', 2000, 10);
    loader.cache.setTotal(total);
    let changes = 0;
    loader.onChange = () => changes++;
    await loader.ensure(150_000, 150_060);
    expect(log.calls).toEqual([[150_000, 2000]]);
    expect(loader.cache.line(150_010)).toEqual({ stream: 'o', text: 'line 150010' });
    expect(changes).toBe(1);
    // a window spanning a chunk boundary fetches the neighbour only
    await loader.ensure(151_990, 152_050);
    expect(log.calls).toEqual([[150_000, 2000], [152_000, 2000]]);
    // already loaded: no request
    await loader.ensure(150_500, 151_500);
    expect(log.calls.length).toBe(2);
    // the log grows: the partial last chunk is completed
    total = 200_000;
  });

  it('deduplicates concurrent requests', async () => {
    const log = fakeLog(() => 100);
    const loader = new LogLoader(log.fetcher, 's', 50, 10);
    loader.cache.setTotal(100);
    await Promise.all([loader.ensure(0, 10), loader.ensure(5, 20)]);
    expect(log.calls).toEqual([[0, 50]]);
    expect(loader.pending).toBe(0);
  });

  it('follows a growing log by fetching only new lines', async () => {
    let total = 30;
    const log = fakeLog(() => total);
    const loader = new LogLoader(log.fetcher, 's', 50, 10);
    loader.cache.setTotal(total);
    await loader.ensure(0, 30);
    total = 70;
    loader.cache.setTotal(total);
    await loader.ensure(20, 70);
    expect(log.calls).toEqual([[0, 30], [30, 20], [50, 20]]);
    expect(loader.cache.line(69)?.text).toBe('line 69');
  });

  it('reports errors and does not retry in a loop; retry() tries again', async () => {
    let fail = true;
    const calls: number[] = [];
    const loader = new LogLoader(
      async (offset) => {
        calls.push(offset);
        if (fail) throw new Error('boom');
        return 'oa\n';
      },
      's',
      10,
      5,
    );
    loader.cache.setTotal(1);
    await loader.ensure(0, 1);
    expect(loader.error).toBe('boom');
    await loader.ensure(0, 1);
    expect(calls).toEqual([0]);
    fail = false;
    loader.retry();
    await loader.ensure(0, 1);
    expect(calls).toEqual([0, 0]);
    expect(loader.error).toBeNull();
    expect(loader.cache.line(0)?.text).toBe('a');
  });

  it('keeps its memory bounded while walking the whole log', async () => {
    const log = fakeLog(() => 1000);
    const loader = new LogLoader(log.fetcher, 's', 100, 3);
    loader.cache.setTotal(1000);
    await loader.ensure(0, 100);
    for (let c = 1; c < 10; c++) {
      const got = await loader.chunkLines(c, new Set([0]));
      expect(got.length).toBe(100);
      expect(got[0].text).toBe(`line ${c * 100}`);
    }
    expect(loader.cache.size).toBeLessThanOrEqual(3);
    expect(loader.cache.has(0)).toBe(true);
  });
});
