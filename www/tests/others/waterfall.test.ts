import { describe, expect, it } from 'vitest';
import { blocksByBuilder, gapLines, layoutWaterfall, timeLabels, timeToY, type LayoutOptions } from '../../src/views/waterfall';
import { build } from './fixtures';

const opts: LayoutOptions = { pxPerSecond: 1, minHeight: 10, gapSeconds: 100, gapPx: 20 };

describe('layoutWaterfall', () => {
  it('puts the newest at the top and scales durations', () => {
    const l = layoutWaterfall(
      [build({ buildid: 1, started_at: 1000, complete_at: 1050 }), build({ buildid: 2, started_at: 1040, complete_at: 1100 })],
      2000,
      opts,
    );
    const [b1, b2] = l.blocks;
    expect(b2).toMatchObject({ top: 0, height: 60 });
    expect(b1).toMatchObject({ top: 50, height: 50 });
    expect(l.height).toBe(100);
    expect(l.points.map((p) => [p.t, p.y])).toEqual([
      [1100, 0],
      [1050, 50],
      [1040, 60],
      [1000, 100],
    ]);
  });
  it('collapses long idle gaps but keeps short ones, and never a busy stretch', () => {
    const l = layoutWaterfall(
      [
        build({ buildid: 1, started_at: 0, complete_at: 10 }),
        build({ buildid: 2, started_at: 60, complete_at: 70 }), // 50 s idle: kept to scale
        build({ buildid: 3, started_at: 1000, complete_at: 1030 }), // 930 s idle: collapsed
        build({ buildid: 4, builderid: 2, started_at: 1010, complete_at: 1300 }), // busy 270 s
      ],
      5000,
      opts,
    );
    expect(l.blocks.map((b) => b.top)).toEqual([380, 320, 270, 0]);
    expect(l.blocks[3].height).toBe(290);
    expect(l.height).toBe(390);
    expect(gapLines(l.points, opts)).toEqual([310]);
  });
  it('stretches time so that short builds keep the minimum height without overlapping', () => {
    // three 1-second builds in a row on one builder
    const l = layoutWaterfall(
      [
        build({ buildid: 1, started_at: 100, complete_at: 101 }),
        build({ buildid: 2, started_at: 101, complete_at: 102 }),
        build({ buildid: 3, started_at: 102, complete_at: 103 }),
      ],
      200,
      opts,
    );
    const tops = l.blocks.map((b) => [b.top, b.height]);
    expect(tops).toEqual([
      [20, 10],
      [10, 10],
      [0, 10],
    ]);
  });
  it('extends running builds to now', () => {
    const l = layoutWaterfall([build({ buildid: 2, started_at: 90, complete: false, complete_at: null, results: null })], 130, opts);
    expect(l.blocks[0]).toMatchObject({ top: 0, height: 40, end: 130 });
    expect(layoutWaterfall([], 5, opts)).toEqual({ points: [], blocks: [], height: 0 });
  });
  it('interpolates times between points and clamps outside', () => {
    const pts = [
      { t: 1000, y: 0, gap: false },
      { t: 900, y: 100, gap: false },
      { t: 100, y: 120, gap: true },
      { t: 0, y: 220, gap: false },
    ];
    expect(timeToY(pts, 1100)).toBe(0);
    expect(timeToY(pts, 950)).toBe(50);
    expect(timeToY(pts, 900)).toBe(100);
    expect(timeToY(pts, 500)).toBe(110);
    expect(timeToY(pts, 50)).toBe(170);
    expect(timeToY(pts, -50)).toBe(220);
    expect(timeToY([], 5)).toBe(0);
  });
  it('groups blocks into builder columns sorted top down and spaces labels', () => {
    const l = layoutWaterfall(
      [
        build({ buildid: 1, builderid: 2, started_at: 0, complete_at: 10 }),
        build({ buildid: 2, builderid: 2, started_at: 20, complete_at: 30 }),
        build({ buildid: 3, builderid: 5 }),
      ],
      100,
      opts,
    );
    const cols = blocksByBuilder(l);
    expect(cols.get(2)!.map((b) => b.build.buildid)).toEqual([2, 1]);
    expect(cols.get(5)!.length).toBe(1);
    const pts = [0, 50, 130, 200, 260, 400].map((y, i) => ({ t: 1000 - i, y, gap: i === 4 }));
    expect(timeLabels(pts, 120).map((l) => l.y)).toEqual([0, 130, 260, 400]);
  });
});
