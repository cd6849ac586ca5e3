// A log viewer for logs of any size: only the visible lines (plus overscan) are in the DOM,
// the lines are fetched in chunks as the viewport needs them, and a growing log is
// followed (auto-scroll) until the user scrolls up.
//
// Self-contained: it knows nothing about the data API; the page gives it a fetcher and the
// log's current length (kept live by the page).

import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { JSX } from 'preact';
import { parseAnsi } from './ansi';
import { CHUNK_LINES, LogLoader, type LineFetcher } from './chunks';
import type { LogLine } from './lines';
import { highlightSpans, matchIndexFrom, searchLog, type Match, type SearchProgress } from './search';
import { atBottom, contentHeight, scrollTopForLine, visibleWindow } from './window';
import './logviewer.css';

export const LINE_HEIGHT = 18;
const OVERSCAN = 30;
const PREFETCH = 400; // lines beyond the window that are loaded ahead of scrolling

export interface LogViewerProps {
  /** identity of the log: a new key resets the viewer */
  logKey: string | number;
  logType: string; // s, t, h, d
  numLines: number;
  complete: boolean;
  fetchLines: LineFetcher;
  rawUrl?: string;
  rawInlineUrl?: string;
  /** 0-based line to show first (e.g. from the URL) */
  initialLine?: number;
  selectedLine?: number | null;
  onSelectLine?: (line: number) => void;
  chunkSize?: number;
  /** fixed viewport height (tests); by default measured from the element */
  viewportHeight?: number;
  class?: string;
}

export function LogLineView(props: {
  n: number;
  line: LogLine | undefined;
  ranges: Array<[number, number]>;
  current: number;
  selected: boolean;
  onSelect?: (n: number) => void;
}) {
  const { n, line, ranges, current, selected, onSelect } = props;
  const cls = `log-line${line?.stream ? ' log-' + line.stream : ''}${selected ? ' log-selected' : ''}`;
  const num = (
    <span class="log-ln" onClick={onSelect ? () => onSelect(n) : undefined}>
      {n + 1}
    </span>
  );
  if (!line) {
    return (
      <div class={cls + ' log-pending'} data-line={n}>
        {num}
        <span class="log-text">…</span>
      </div>
    );
  }
  const spans = highlightSpans(parseAnsi(line.text), ranges, current);
  return (
    <div class={cls} data-line={n}>
      {num}
      <span class="log-text">
        {spans.map((sp, i) =>
          sp.cls || sp.style ? (
            <span key={i} class={sp.cls} style={sp.style as JSX.CSSProperties}>
              {sp.text}
            </span>
          ) : (
            sp.text
          ),
        )}
      </span>
    </div>
  );
}

interface SearchState {
  query: string;
  matches: Match[];
  progress: SearchProgress | null;
  index: number; // current match, -1 = none
}

const NO_SEARCH: SearchState = { query: '', matches: [], progress: null, index: -1 };

export function LogViewer(props: LogViewerProps) {
  const { logKey, logType, numLines, complete, fetchLines } = props;
  const chunkSize = props.chunkSize ?? CHUNK_LINES;
  const loader = useMemo(() => new LogLoader(fetchLines, logType, chunkSize), [logKey, logType, chunkSize]);
  const [, setVersion] = useState(0);
  const scroller = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [measured, setMeasured] = useState(0);
  const [follow, setFollow] = useState(!complete && props.initialLine === undefined);
  const [search, setSearch] = useState<SearchState>(NO_SEARCH);
  const [searchText, setSearchText] = useState('');
  const cancelSearch = useRef<(() => void) | null>(null);

  const vh = props.viewportHeight ?? (measured || 600);
  loader.cache.setTotal(numLines);
  const win = visibleWindow({ scrollTop, viewportHeight: vh, lineHeight: LINE_HEIGHT, totalLines: numLines, overscan: OVERSCAN });
  const height = contentHeight(numLines, LINE_HEIGHT);

  // re-render when chunks arrive
  useEffect(() => {
    loader.onChange = () => setVersion((v) => v + 1);
    return () => {
      loader.onChange = () => {};
    };
  }, [loader]);

  // load what the window needs (and a little beyond)
  useEffect(() => {
    if (logType === 'h' || logType === 'd') return;
    void loader.ensure(win.first, win.last);
    void loader.ensure(Math.max(0, win.first - PREFETCH), win.last + PREFETCH);
  });

  // measure the viewport
  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el || props.viewportHeight) return;
    const measure = () => setMeasured(el.clientHeight);
    measure();
    if (typeof ResizeObserver === 'undefined') return;
    const ro = new ResizeObserver(measure);
    ro.observe(el);
    return () => ro.disconnect();
  }, [props.viewportHeight]);

  const scrollToLine = (line: number, center = false) => {
    const el = scroller.current;
    const target = center ? line - Math.floor(vh / LINE_HEIGHT / 2) : line;
    const top = scrollTopForLine(Math.max(0, target), vh, LINE_HEIGHT, numLines);
    if (el && Math.abs(el.scrollTop - top) >= 1) el.scrollTop = top;
    setScrollTop(top);
  };

  const scrollToEnd = () => {
    const el = scroller.current;
    const top = Math.max(0, height - vh);
    if (el) {
      const target = Math.max(0, (el.scrollHeight || height) - (el.clientHeight || vh));
      // our own scroll events leave the view at the bottom, so they keep following
      if (Math.abs(el.scrollTop - target) >= 1) el.scrollTop = target;
      setScrollTop(el.scrollTop || target);
    } else setScrollTop(top);
  };

  // open at the requested line
  useLayoutEffect(() => {
    if (props.initialLine !== undefined && props.initialLine > 0) scrollToLine(props.initialLine, true);
  }, [logKey]);

  // follow the tail while the log grows
  useLayoutEffect(() => {
    if (follow) scrollToEnd();
  }, [numLines, follow, height, vh]);

  useEffect(() => () => cancelSearch.current?.(), []);
  useEffect(() => {
    cancelSearch.current?.();
    setSearch(NO_SEARCH);
  }, [logKey]);

  const onScroll = () => {
    const el = scroller.current;
    if (!el) return;
    setScrollTop(el.scrollTop);
    const bottom = atBottom(el.scrollTop, el.clientHeight || vh, el.scrollHeight || height, LINE_HEIGHT);
    if (!bottom && follow) setFollow(false);
    else if (bottom && !follow && !complete) setFollow(true);
  };

  // --- search ---
  const keepChunks = () => new Set(loader.cache.chunksFor(win.first, win.last));

  const gotoMatch = (matches: Match[], index: number) => {
    if (index < 0 || index >= matches.length) return;
    setFollow(false);
    scrollToLine(matches[index].line, true);
  };

  const startSearch = (q: string) => {
    cancelSearch.current?.();
    if (!q) {
      setSearch(NO_SEARCH);
      return;
    }
    const fromLine = Math.floor(win.topLine);
    let jumped = false;
    setSearch({ query: q, matches: [], progress: null, index: -1 });
    cancelSearch.current = searchLog(loader, q, keepChunks, (p) => {
      let index = -1;
      if (p.matches.length) {
        const after = p.matches.findIndex((m) => m.line >= fromLine);
        // jump to the first match below the viewport top once one is known (or at the end)
        if (after >= 0) index = after;
        else if (p.done) index = 0;
      }
      setSearch((s) => ({ ...s, matches: p.matches, progress: p, index: jumped ? s.index : index }));
      if (!jumped && index >= 0) {
        jumped = true;
        gotoMatch(p.matches, index);
      }
    });
  };

  const step = (delta: number) => {
    const n = search.matches.length;
    if (!n) return;
    let index: number;
    if (search.index < 0) {
      const i = matchIndexFrom(search.matches, Math.floor(win.topLine));
      index = delta > 0 ? i : (i - 1 + n) % n;
    } else index = (((search.index + delta) % n) + n) % n;
    setSearch({ ...search, index });
    gotoMatch(search.matches, index);
  };

  const onSearchKey = (e: KeyboardEvent) => {
    if (e.key === 'Enter') {
      e.preventDefault();
      if (searchText !== search.query) startSearch(searchText);
      else step(e.shiftKey ? -1 : 1);
    } else if (e.key === 'Escape') {
      setSearchText('');
      startSearch('');
    }
  };

  // matches per visible line
  const lineRanges = new Map<number, { ranges: Array<[number, number]>; current: number }>();
  if (search.matches.length) {
    const cur = search.matches[search.index];
    let i = matchIndexFrom(search.matches, win.first);
    if (i >= 0 && search.matches[i].line < win.first) i = search.matches.length; // wrapped
    for (; i >= 0 && i < search.matches.length && search.matches[i].line < win.last; i++) {
      const m = search.matches[i];
      const e = lineRanges.get(m.line) ?? { ranges: [], current: -1 };
      if (m === cur) e.current = e.ranges.length;
      e.ranges.push([m.start, m.end]);
      lineRanges.set(m.line, e);
    }
  }

  const rows: JSX.Element[] = [];
  for (let n = win.first; n < win.last; n++) {
    const r = lineRanges.get(n);
    rows.push(
      <LogLineView
        key={n}
        n={n}
        line={loader.cache.line(n)}
        ranges={r?.ranges ?? []}
        current={r?.current ?? -1}
        selected={props.selectedLine === n}
        onSelect={props.onSelectLine}
      />,
    );
  }

  const progress = search.progress;
  const searching = !!search.query && (!progress || !progress.done);
  const matchInfo = !search.query
    ? ''
    : search.matches.length
      ? `${search.index + 1 || '-'} / ${search.matches.length}${progress?.truncated ? '+' : ''}`
      : searching
        ? ''
        : 'no match';
  const pct = progress && numLines ? Math.round((100 * progress.scannedLines) / numLines) : 0;

  const toolbar = (
    <div class="log-toolbar">
      {logType !== 'h' && logType !== 'd' && (
        <>
          <input
            type="search"
            class="log-search-input"
            placeholder="Search log (Enter: next, Shift+Enter: previous)"
            value={searchText}
            data-testid="log-search"
            aria-label="Search log"
            onInput={(e) => setSearchText((e.target as HTMLInputElement).value)}
            onKeyDown={onSearchKey}
          />
          <button type="button" class="bb-btn log-btn" title="Previous match" disabled={!search.matches.length} onClick={() => step(-1)}>
            ↑
          </button>
          <button
            type="button"
            class="bb-btn log-btn"
            title="Next match"
            disabled={!search.matches.length && searchText === search.query}
            onClick={() => (searchText !== search.query ? startSearch(searchText) : step(1))}
          >
            ↓
          </button>
          <span class="log-match-info" data-testid="log-match-info">
            {matchInfo}
            {searching && ` searching… ${pct}%`}
          </span>
          <span class="log-spacer" />
          <span class="log-count">
            {numLines.toLocaleString()} lines{complete ? '' : ' (running)'}
            {loader.pending > 0 && ' · loading…'}
          </span>
          <button type="button" class="bb-btn log-btn" title="Go to top" onClick={() => (setFollow(false), scrollToLine(0))}>
            Top
          </button>
          <button
            type="button"
            class={follow ? 'bb-btn log-btn log-follow active' : 'bb-btn log-btn log-follow'}
            aria-pressed={follow}
            data-testid="log-follow"
            title="Keep the end of the log in view while it grows"
            onClick={() => {
              const f = !follow;
              setFollow(f);
              if (f) scrollToEnd();
            }}
          >
            {follow ? 'Following' : 'Follow'}
          </button>
        </>
      )}
      {logType === 'h' && <span class="log-spacer" />}
      {props.rawInlineUrl && (
        <a href={props.rawInlineUrl} target="_blank" rel="noopener" class="log-raw">
          Raw
        </a>
      )}
      {props.rawUrl && (
        <a href={props.rawUrl} download class="log-download" data-testid="log-download">
          Download
        </a>
      )}
    </div>
  );

  if (logType === 'h') {
    return (
      <div class={`logviewer ${props.class ?? ''}`}>
        {toolbar}
        <iframe
          class="log-html"
          sandbox=""
          referrerpolicy="no-referrer"
          src={props.rawInlineUrl}
          title="HTML log"
          data-testid="log-lines"
        />
      </div>
    );
  }
  if (logType === 'd') {
    return (
      <div class={`logviewer ${props.class ?? ''}`}>
        {toolbar}
        <div class="log-empty" data-testid="log-lines">
          The content of this log has been deleted.
        </div>
      </div>
    );
  }

  return (
    <div class={`logviewer ${props.class ?? ''}`}>
      {toolbar}
      {loader.error && (
        <div class="log-error" role="alert">
          Could not load lines: {loader.error}{' '}
          <button type="button" class="bb-btn log-btn" onClick={() => loader.retry()}>
            Retry
          </button>
        </div>
      )}
      <div
        class="log-scroller"
        ref={scroller}
        onScroll={onScroll}
        tabIndex={0}
        data-testid="log-lines"
        style={props.viewportHeight ? { height: `${props.viewportHeight}px` } : undefined}
      >
        <div class="log-sizer" style={{ height: `${height}px` }}>
          <div class="log-window" style={{ transform: `translateY(${win.top}px)` }}>
            {rows}
          </div>
        </div>
        {numLines === 0 && <div class="log-empty">{complete ? 'This log is empty.' : 'Waiting for output…'}</div>}
      </div>
    </div>
  );
}

export default LogViewer;
