import { useEffect, useMemo, useState } from 'preact/hooks';
import type { PageProps } from '../routes';
import { useCollection } from '../api/live';
import { Link, setQuery } from '../router';
import { ErrorBox, Spinner, TagFilter, formatDate, formatDuration, resultsClass, resultsText } from '../components';
import type { Build } from '../views/types';
import { blocksByBuilder, gapLines, layoutWaterfall, timeLabels, type LayoutOptions } from '../views/waterfall';
import { CountSelect, useBuilders } from '../views/ui';
import '../views/others.css';

// Waterfall: one column per builder, builds as blocks (newest at the top, height = duration,
// idle stretches collapsed, short builds stretched to stay visible; see views/waterfall.ts). 2 calls: builds?order=-buildid&limit=N and builders; live
// through the build events merged into that collection (it keeps its order and limit).
const SIZES = [50, 100, 200, 500, 1000];
const SCALES = [0.02, 0.05, 0.1, 0.25, 0.5, 1];

/** How often to re-draw running builds: about once per pixel of growth, 1 to 5 s. */
export function growthInterval(pxPerSecond: number): number {
  return Math.round(Math.min(5000, Math.max(1000, 1000 / pxPerSecond)));
}

export default function Page(props: PageProps) {
  const n = SIZES.includes(Number(props.query.n)) ? Number(props.query.n) : 200;
  const scale = SCALES.includes(Number(props.query.scale)) ? Number(props.query.scale) : 0.1;
  const tags = props.query.tags ? props.query.tags.split(',') : [];
  const q = (o: Record<string, string | number | null>) =>
    setQuery({ n: n === 200 ? null : n, scale: scale === 0.1 ? null : scale, tags: tags.join(',') || null, ...o });

  const builds = useCollection<Build>('builds', { order: '-buildid', limit: n });
  const builders = useBuilders();
  // running builds reach up to now and grow: re-layout while there are some, about
  // every pixel of growth (1-5 s)
  const [tick, setTick] = useState(0);
  const anyRunning = builds.items.some((b) => !b.complete);
  useEffect(() => {
    if (!anyRunning) return;
    const t = setInterval(() => setTick((x) => x + 1), growthInterval(scale));
    return () => clearInterval(t);
  }, [anyRunning, scale]);

  const opts: LayoutOptions = { pxPerSecond: scale, minHeight: 18, gapSeconds: Math.max(120, 60 / scale), gapPx: 24 };
  const shownBuilders = useMemo(() => {
    const withBuilds = new Set(builds.items.map((b) => b.builderid));
    return builders.list.filter((b) => withBuilds.has(b.builderid) && (!tags.length || tags.every((t) => b.tags?.includes(t))));
  }, [builders.list, builds.items, tags.join(',')]);
  const layout = useMemo(() => {
    const ids = new Set(shownBuilders.map((b) => b.builderid));
    return layoutWaterfall(
      builds.items.filter((b) => ids.has(b.builderid)),
      Math.floor(Date.now() / 1000),
      opts,
    );
  }, [builds.items, shownBuilders, tick, scale]);
  const columns = useMemo(() => blocksByBuilder(layout), [layout]);
  const labels = useMemo(() => timeLabels(layout.points, 100), [layout]);
  const gaps = useMemo(() => gapLines(layout.points, opts), [layout]);
  const allTags = useMemo(() => [...new Set(builders.list.flatMap((b) => b.tags ?? []))].sort(), [builders.list]);

  return (
    <div class="bb-page">
      <div class="bb-toolbar">
        <CountSelect label="builds" value={n} choices={SIZES} onChange={(v) => q({ n: v })} testid="waterfall-n" />
        <label>
          zoom{' '}
          <select value={scale} onChange={(e) => q({ scale: Number(e.currentTarget.value) })} data-testid="waterfall-scale">
            {SCALES.map((s) => (
              <option key={s} value={s}>
                {formatDuration(100 / s)} / 100px
              </option>
            ))}
          </select>
        </label>
        <TagFilter tags={allTags} selected={tags} onChange={(t) => q({ tags: t.join(',') || null })} />
      </div>
      <ErrorBox error={builds.error || builders.error} />
      {(builds.loading || builders.loading) && !builds.items.length ? (
        <Spinner />
      ) : !shownBuilders.length ? (
        <p class="bb-empty">No builds to show.</p>
      ) : (
        <div class="bo-wf-viewport" data-testid="waterfall">
          <div class="bo-wf-head">
            <div class="bo-wf-corner">time</div>
            {shownBuilders.map((b) => (
              <div key={b.builderid} title={b.name}>
                <Link to={`/builders/${b.builderid}`}>{b.name}</Link>
              </div>
            ))}
          </div>
          <div class="bo-wf" style={{ height: `${layout.height + 4}px` }}>
            <div class="bo-wf-times">
              {labels.map((l, i) => (
                <span key={i} class="bo-wf-time" style={{ top: `${l.y}px` }}>
                  {formatDate(l.t).slice(5, 16)}
                </span>
              ))}
            </div>
            {shownBuilders.map((b) => (
              <div key={b.builderid} class="bo-wf-col" style={{ height: `${layout.height + 4}px` }}>
                {gaps.map((y, i) => (
                  <div key={i} class="bo-wf-gap" style={{ top: `${y}px` }} />
                ))}
                {(columns.get(b.builderid) ?? []).map((bl) => (
                  <Link
                    key={bl.build.buildid}
                    to={`/builders/${b.builderid}/builds/${bl.build.number}`}
                    class={`bo-wf-block ${resultsClass(bl.build.results, bl.build.complete)}`}
                    style={{ top: `${bl.top}px`, height: `${bl.height}px` }}
                    title={`${b.name} #${bl.build.number}: ${resultsText(bl.build.results, bl.build.complete)}\n${bl.build.state_string}\nstarted ${formatDate(bl.start)}\n${bl.build.complete ? 'took' : 'running for'} ${formatDuration(bl.end - bl.start)}`}
                    data-testid={`wf-build-${bl.build.buildid}`}
                  >
                    #{bl.build.number} {bl.height >= 30 ? bl.build.state_string : ''}
                  </Link>
                ))}
              </div>
            ))}
          </div>
        </div>
      )}
    </div>
  );
}
