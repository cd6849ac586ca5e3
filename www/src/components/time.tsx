import { signal } from '@preact/signals';
import { useEffect } from 'preact/hooks';

/** Seconds since the epoch, updated every second while a component shows live time. */
export const now = signal(Math.floor(Date.now() / 1000));
let tickers = 0;
let timer: ReturnType<typeof setInterval> | null = null;

function useTicker(active: boolean): void {
  useEffect(() => {
    if (!active) return;
    if (tickers++ === 0) {
      now.value = Math.floor(Date.now() / 1000);
      timer = setInterval(() => (now.value = Math.floor(Date.now() / 1000)), 1000);
    }
    return () => {
      if (--tickers === 0 && timer) {
        clearInterval(timer);
        timer = null;
      }
    };
  }, [active]);
}

/** 3725 → `1h 2m 5s`; 65 → `1m 5s`; 4 → `4s`; days for long ones. */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !isFinite(seconds)) return '';
  let s = Math.max(0, Math.round(seconds));
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  if (d) return `${d}d ${h}h ${m}m`;
  if (h) return `${h}h ${m}m ${s}s`;
  if (m) return `${m}m ${s}s`;
  return `${s}s`;
}

/** `5 seconds ago`, `3 minutes ago`, `2 days ago`, `in 5 minutes`. */
export function formatTimeAgo(epoch: number | null | undefined, nowSec: number = Math.floor(Date.now() / 1000)): string {
  if (epoch === null || epoch === undefined) return '';
  const diff = nowSec - epoch;
  const a = Math.abs(diff);
  const units: [number, string][] = [
    [31536000, 'year'],
    [2592000, 'month'],
    [86400, 'day'],
    [3600, 'hour'],
    [60, 'minute'],
  ];
  let text = 'a few seconds';
  if (a >= 45) {
    for (const [n, name] of units) {
      if (a >= n) {
        const v = Math.round(a / n);
        text = `${v} ${name}${v === 1 ? '' : 's'}`;
        break;
      }
    }
  }
  return diff >= 0 ? `${text} ago` : `in ${text}`;
}

export function formatDate(epoch: number | null | undefined): string {
  if (epoch === null || epoch === undefined) return '';
  const d = new Date(epoch * 1000);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** Elapsed time between start and end; ticks every second while `end` is missing. */
export function Duration(props: { start: number | null | undefined; end?: number | null }) {
  const running = props.start !== null && props.start !== undefined && (props.end === null || props.end === undefined);
  useTicker(running);
  if (props.start === null || props.start === undefined) return <span class="bb-duration" />;
  const end = running ? now.value : (props.end as number);
  return <span class="bb-duration">{formatDuration(end - props.start)}</span>;
}

export function TimeAgo(props: { epoch: number | null | undefined }) {
  useTicker(props.epoch !== null && props.epoch !== undefined);
  if (props.epoch === null || props.epoch === undefined) return <span class="bb-timeago" />;
  return (
    <time class="bb-timeago" title={formatDate(props.epoch)} dateTime={new Date(props.epoch * 1000).toISOString()}>
      {formatTimeAgo(props.epoch, now.value)}
    </time>
  );
}
