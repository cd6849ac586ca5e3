// Waterfall layout: the newest moment is at the top (y = 0) and older times lie further down,
// as in Buildbot's waterfall. One time → y mapping is shared by all columns, so blocks of
// different builders line up in time. The mapping is piecewise linear through every build
// start/end ("points"), with two distortions:
//  - idle stretches longer than `gapSeconds` are collapsed to `gapPx` (a quiet night does not
//    push older builds off screen);
//  - a stretch is lengthened when a build starting there would be shorter than `minHeight`,
//    so short builds stay visible and clickable instead of overlapping their neighbours.
import type { Build } from './types';

export interface LayoutOptions {
  pxPerSecond: number;
  minHeight: number;
  gapSeconds: number;
  gapPx: number;
}

export const defaultLayout: LayoutOptions = { pxPerSecond: 0.1, minHeight: 18, gapSeconds: 600, gapPx: 24 };

export interface Point {
  t: number; // epoch s
  y: number; // px from the top
  gap: boolean; // the stretch above this point is a collapsed idle gap
}

export interface Block {
  build: Build;
  top: number;
  height: number;
  start: number;
  end: number;
}

export interface Layout {
  points: Point[]; // newest first, strictly decreasing t, non-decreasing y
  blocks: Block[];
  height: number;
}

export function buildEnd(b: Build, now: number): number {
  return b.complete ? Math.max(b.started_at, b.complete_at ?? b.started_at) : Math.max(now, b.started_at);
}

/** True when some build runs during [lo, hi] (so the stretch is not idle). */
function busyBetween(intervals: [number, number][], lo: number, hi: number): boolean {
  for (const [s, e] of intervals) if (s < hi && e > lo) return true;
  return false;
}

export function layoutWaterfall(builds: Build[], now: number, opts: LayoutOptions = defaultLayout): Layout {
  const intervals = builds.map((b) => [b.started_at, buildEnd(b, now)] as [number, number]);
  const times = [...new Set(intervals.flat())].sort((a, b) => b - a);
  // builds by start time, to enforce their minimum height when their start is placed
  const endsByStart = new Map<number, number[]>();
  for (const [s, e] of intervals) endsByStart.set(s, [...(endsByStart.get(s) ?? []), e]);
  const yOf = new Map<number, number>();
  const points: Point[] = [];
  let y = 0;
  for (let i = 0; i < times.length; i++) {
    const t = times[i];
    let gap = false;
    if (i > 0) {
      const delta = times[i - 1] - t;
      const idle = delta > opts.gapSeconds && !busyBetween(intervals, t, times[i - 1]);
      gap = idle;
      y += idle ? opts.gapPx : delta * opts.pxPerSecond;
      for (const e of endsByStart.get(t) ?? []) y = Math.max(y, (yOf.get(e) ?? 0) + opts.minHeight);
    }
    yOf.set(t, y);
    points.push({ t, y, gap });
  }
  const blocks = builds.map((b, i) => {
    const [start, end] = intervals[i];
    const top = yOf.get(end) ?? 0;
    const bottom = yOf.get(start) ?? top;
    return { build: b, top, height: Math.max(opts.minHeight, bottom - top), start, end };
  });
  const height = blocks.reduce((h, bl) => Math.max(h, bl.top + bl.height), y);
  return { points, blocks, height };
}

/** y of any time t, interpolated between the layout's points (clamped at both ends). */
export function timeToY(points: Point[], t: number): number {
  if (!points.length) return 0;
  if (t >= points[0].t) return points[0].y;
  const last = points[points.length - 1];
  if (t <= last.t) return last.y;
  let lo = 0;
  let hi = points.length - 1; // points[lo].t > t > points[hi].t
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (points[mid].t >= t) lo = mid;
    else hi = mid;
  }
  const a = points[lo];
  const b = points[hi];
  if (a.t === t) return a.y;
  return a.y + ((a.t - t) / (a.t - b.t)) * (b.y - a.y);
}

/** Blocks grouped per builder column, each column sorted top to bottom. */
export function blocksByBuilder(layout: Layout): Map<number, Block[]> {
  const out = new Map<number, Block[]>();
  for (const bl of layout.blocks) {
    let l = out.get(bl.build.builderid);
    if (!l) out.set(bl.build.builderid, (l = []));
    l.push(bl);
  }
  for (const l of out.values()) l.sort((a, b) => a.top - b.top);
  return out;
}

/** Time labels at layout points, at least `everyPx` apart (the first point always). */
export function timeLabels(points: Point[], everyPx = 120): { y: number; t: number }[] {
  const out: { y: number; t: number }[] = [];
  let lastY = -Infinity;
  for (const p of points) {
    if (p.y - lastY >= everyPx || (p.gap && p.y - lastY >= 16)) {
      out.push({ y: p.y, t: p.t });
      lastY = p.y;
    }
  }
  return out;
}

/** y positions of collapsed gaps (to draw a dashed separator). */
export function gapLines(points: Point[], opts: LayoutOptions = defaultLayout): number[] {
  return points.filter((p) => p.gap).map((p) => p.y - opts.gapPx / 2);
}
