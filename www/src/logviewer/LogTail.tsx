// The last lines of a growing log (inline preview of a running step). Re-fetches the tail
// when the log grows, at most every `intervalMs`.

import { useEffect, useRef, useState } from 'preact/hooks';
import { subscribe } from '../api/live';
import { Spinner } from '../components/misc';
import { parseContent, type LogLine } from './lines';
import { LogLineView } from './LogViewer';
import { tailRange } from './buildinfo';
import type { LineFetcher } from './chunks';

/**
 * The current line count of a log: the larger of `known` (from a fetched entity) and the
 * `num_lines` of the log's own events (`logs/<logid>/append`, `.../finished`), so a tail
 * keeps growing even when the list it came from is not refreshed.
 */
export function useLiveNumLines(logid: number | null | undefined, known: number): number {
  const [seen, setSeen] = useState<{ logid: number | null; n: number }>({ logid: null, n: 0 });
  useEffect(() => {
    if (logid === null || logid === undefined) return;
    return subscribe(`logs/${logid}/*`, (_k, m) => {
      const n = Number(m?.num_lines);
      if (!Number.isFinite(n)) return;
      setSeen((s) => (s.logid === logid && s.n >= n ? s : { logid, n: Math.max(n, s.logid === logid ? s.n : 0) }));
    });
  }, [logid]);
  return Math.max(known || 0, seen.logid === logid ? seen.n : 0);
}

export function LogTail(props: { numLines: number; logType: string; fetchLines: LineFetcher; lines?: number; intervalMs?: number }) {
  const { numLines, logType, fetchLines } = props;
  const count = props.lines ?? 12;
  const interval = props.intervalMs ?? 500;
  const [tail, setTail] = useState<{ first: number; lines: LogLine[]; done: boolean }>({ first: 0, lines: [], done: false });
  const [error, setError] = useState<string | null>(null);
  const last = useRef(0);
  const inflight = useRef(false);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const box = useRef<HTMLPreElement>(null);

  // the newest props, read by the (throttled) loader
  const latest = useRef({ numLines, logType, fetchLines, count });
  latest.current = { numLines, logType, fetchLines, count };
  const alive = useRef(true);
  const loaded = useRef(-1);

  const load = () => {
    timer.current = null;
    const cur = latest.current;
    if (inflight.current) {
      timer.current = setTimeout(load, interval);
      return;
    }
    if (cur.numLines === loaded.current) return;
    const { offset, limit } = tailRange(cur.numLines, cur.count);
    loaded.current = cur.numLines;
    if (!limit) return;
    inflight.current = true;
    last.current = Date.now();
    cur
      .fetchLines(offset, limit)
      .then((content) => {
        if (!alive.current) return;
        setTail({ first: offset, lines: parseContent(content, cur.logType), done: true });
        setError(null);
      })
      .catch((e: Error) => alive.current && setError(e.message || String(e)))
      .finally(() => {
        inflight.current = false;
      });
  };

  useEffect(() => {
    if (timer.current) return; // a load is already scheduled: it will read the newest length
    timer.current = setTimeout(load, Math.max(0, last.current + interval - Date.now()));
  }, [numLines]);

  useEffect(() => {
    alive.current = true;
    return () => {
      alive.current = false;
      if (timer.current) clearTimeout(timer.current);
      timer.current = null;
    };
  }, []);

  useEffect(() => {
    const el = box.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [tail]);

  if (error) return <div class="log-error">Could not load the log: {error}</div>;
  if (!numLines) return <div class="log-empty">No output yet.</div>;
  if (!tail.done) return <Spinner text="Loading output…" />;
  return (
    <div class="logviewer log-tail">
      <pre class="log-preview" ref={box} data-testid="log-preview">
        {tail.lines.map((l, i) => (
          <LogLineView key={tail.first + i} n={tail.first + i} line={l} ranges={[]} current={-1} selected={false} />
        ))}
      </pre>
    </div>
  );
}
