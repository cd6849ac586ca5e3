import { describe, expect, it } from 'vitest';
import { parseAnsi } from '../../src/logviewer/ansi';
import { LogLoader } from '../../src/logviewer/chunks';
import { findAll, highlightSpans, matchIndexFrom, matchLines, searchLog, type SearchProgress } from '../../src/logviewer/search';

describe('search', () => {
  it('finds case-insensitive, non-overlapping matches', () => {
    expect(findAll('Error: error ERROR', 'error')).toEqual([[0, 5], [7, 12], [13, 18]]);
    expect(findAll('aaaa', 'aa')).toEqual([[0, 2], [2, 4]]);
    expect(findAll('abc', '')).toEqual([]);
  });

  it('matches the text without escape sequences', () => {
    const m = matchLines([{ stream: 'o', text: '\x1b[31mFAIL\x1b[0m: test_fail' }], 10, 'fail');
    expect(m).toEqual([
      { line: 10, start: 0, end: 4 },
      { line: 10, start: 11, end: 15 },
    ]);
  });

  it('splits styled spans at the highlighted ranges', () => {
    const spans = parseAnsi('ab\x1b[31mcdef\x1b[0mgh');
    expect(highlightSpans(spans, [[1, 3], [5, 7]], 1)).toEqual([
      { text: 'a' },
      { text: 'b', cls: 'log-match' },
      { text: 'c', cls: 'ansi-fg-1 log-match' },
      { text: 'de', cls: 'ansi-fg-1' },
      { text: 'f', cls: 'ansi-fg-1 log-match log-match-current' },
      { text: 'g', cls: 'log-match log-match-current' },
      { text: 'h' },
    ]);
    expect(highlightSpans(spans, [])).toBe(spans);
  });

  it('finds the next match from a line, wrapping around', () => {
    const ms = [5, 9, 9, 20].map((line) => ({ line, start: 0, end: 1 }));
    expect(matchIndexFrom(ms, 0)).toBe(0);
    expect(matchIndexFrom(ms, 9)).toBe(1);
    expect(matchIndexFrom(ms, 10)).toBe(3);
    expect(matchIndexFrom(ms, 21)).toBe(0);
    expect(matchIndexFrom([], 3)).toBe(-1);
  });

  it('walks a large log chunk by chunk, reporting progress', async () => {
    const total = 10_000;
    const calls: number[] = [];
    const loader = new LogLoader(
      async (offset, limit) => {
        calls.push(offset);
        let s = '';
        for (let i = offset; i < Math.min(total, offset + limit); i++) s += i % 1000 === 7 ? `oneedle ${i}\n` : `ohay ${i}\n`;
        return s;
      },
      's',
      1000,
      4,
    );
    loader.cache.setTotal(total);
    const progress: SearchProgress[] = [];
    await new Promise<void>((resolve) => {
      searchLog(loader, 'NEEDLE', () => new Set(), (p) => {
        progress.push(p);
        if (p.done) resolve();
      });
    });
    expect(progress.length).toBe(10);
    const last = progress[progress.length - 1];
    expect(last.matches.map((m) => m.line)).toEqual([7, 1007, 2007, 3007, 4007, 5007, 6007, 7007, 8007, 9007]);
    expect(last.scannedLines).toBe(total);
    expect(calls.length).toBe(10);
    expect(loader.cache.size).toBeLessThanOrEqual(4);
  });

  it('can be cancelled', async () => {
    const loader = new LogLoader(async () => 'ox\n'.repeat(10), 's', 10, 4);
    loader.cache.setTotal(100);
    const seen: SearchProgress[] = [];
    const cancel = searchLog(loader, 'x', () => new Set(), (p) => seen.push(p));
    cancel();
    await new Promise((r) => setTimeout(r, 10));
    expect(seen.length).toBe(0);
  });

  it('finishes at once on an empty log', async () => {
    const loader = new LogLoader(async () => '', 's');
    const seen: SearchProgress[] = [];
    searchLog(loader, 'x', () => new Set(), (p) => seen.push(p));
    await new Promise((r) => setTimeout(r, 0));
    expect(seen).toEqual([{ matches: [], scannedLines: 0, done: true, truncated: false }]);
  });
});
