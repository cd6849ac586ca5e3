import { describe, expect, it } from 'vitest';
import { atBottom, contentHeight, scrollTopForLine, topLineAt, visibleWindow } from '../../src/logviewer/window';

const base = { viewportHeight: 180, lineHeight: 18, overscan: 5 };

describe('visibleWindow', () => {
  it('is empty for an empty log', () => {
    expect(visibleWindow({ ...base, scrollTop: 0, totalLines: 0 })).toEqual({ first: 0, last: 0, top: 0, topLine: 0 });
  });

  it('covers the viewport plus overscan at the top', () => {
    const w = visibleWindow({ ...base, scrollTop: 0, totalLines: 1000 });
    expect(w.first).toBe(0);
    expect(w.last).toBe(10 + 1 + 5);
    expect(w.top).toBe(0);
  });

  it('scrolls by whole lines and positions the window at first*lineHeight', () => {
    const w = visibleWindow({ ...base, scrollTop: 18 * 100 + 7, totalLines: 1000 });
    expect(w.first).toBe(95);
    expect(w.last).toBe(100 + 11 + 5);
    expect(w.top).toBe(95 * 18);
  });

  it('clips at the end of the log', () => {
    const w = visibleWindow({ ...base, scrollTop: 18 * 995, totalLines: 1000 });
    expect(w.last).toBe(1000);
    expect(w.first).toBe(990);
  });

  it('keeps the DOM small for a 200,000-line log', () => {
    const w = visibleWindow({ ...base, viewportHeight: 800, scrollTop: 18 * 150_000, totalLines: 200_000, overscan: 30 });
    expect(w.last - w.first).toBeLessThan(120);
    expect(w.first).toBe(150_000 - 30);
    expect(contentHeight(200_000, 18)).toBe(3_600_000);
  });

  it('compresses the scroll range of huge logs and still reaches the last line', () => {
    const total = 10_000_000; // 180M px uncompressed
    const maxPx = 1_000_000;
    const inp = { ...base, totalLines: total, maxScrollPx: maxPx };
    expect(contentHeight(total, 18, maxPx)).toBe(maxPx);
    const end = visibleWindow({ ...inp, scrollTop: maxPx - 180 });
    expect(end.last).toBe(total);
    expect(end.topLine).toBeCloseTo(total - 10);
    // the window is drawn where the viewport is
    expect(end.top).toBeLessThanOrEqual(maxPx - 180);
    expect(end.top).toBeCloseTo(maxPx - 180 - (end.topLine - end.first) * 18);
    const mid = visibleWindow({ ...inp, scrollTop: (maxPx - 180) / 2 });
    expect(mid.topLine).toBeCloseTo((total - 10) / 2);
    // round trip line → scrollTop → line
    const st = scrollTopForLine(1_234_567, 180, 18, total, maxPx);
    expect(topLineAt({ ...inp, scrollTop: st })).toBeCloseTo(1_234_567, 3);
    expect(scrollTopForLine(total * 2, 180, 18, total, maxPx)).toBe(maxPx - 180);
  });

  it('maps lines to scroll positions without compression', () => {
    expect(scrollTopForLine(10, 180, 18, 1000)).toBe(180);
    expect(scrollTopForLine(-3, 180, 18, 1000)).toBe(0);
  });

  it('knows when the end is in view', () => {
    expect(atBottom(820, 180, 1000, 18)).toBe(true);
    expect(atBottom(805, 180, 1000, 18)).toBe(true);
    expect(atBottom(700, 180, 1000, 18)).toBe(false);
  });
});
