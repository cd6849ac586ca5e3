// Chunked, bounded cache of a log's lines, and the loader that fills it on demand.
//
// Chunk k holds lines [k*size, (k+1)*size). The last chunk of a growing log is partial;
// when the log grows only its missing tail is fetched. Chunks are evicted least recently
// used first, never the ones the viewport needs.

import { parseContent, type LogLine } from './lines';

export const CHUNK_LINES = 2000;
export const MAX_CHUNKS = 60; // 120k lines in memory at most

export interface FetchRequest {
  chunk: number;
  offset: number;
  limit: number;
}

export class ChunkCache {
  // Map iteration order = least recently used first
  private chunks = new Map<number, LogLine[]>();
  // chunks whose last fetch came back short or failed, with the log length at that time:
  // not refetched until the log grows (so a re-render cannot loop on fetches)
  private blocked = new Map<number, number>();
  totalLines = 0;

  constructor(
    readonly chunkSize = CHUNK_LINES,
    readonly maxChunks = MAX_CHUNKS,
  ) {}

  get size(): number {
    return this.chunks.size;
  }

  chunkOf(line: number): number {
    return Math.floor(line / this.chunkSize);
  }

  /** Chunk indices covering lines [first, last) (clipped to the log). */
  chunksFor(first: number, last: number): number[] {
    const end = Math.min(last, this.totalLines);
    const out: number[] = [];
    if (end <= first) return out;
    for (let c = this.chunkOf(Math.max(0, first)); c <= this.chunkOf(end - 1); c++) out.push(c);
    return out;
  }

  /** Lines a chunk should hold given the current log length. */
  expectedLines(chunk: number): number {
    const start = chunk * this.chunkSize;
    return Math.max(0, Math.min(this.chunkSize, this.totalLines - start));
  }

  has(chunk: number): boolean {
    return this.chunks.has(chunk);
  }

  isComplete(chunk: number): boolean {
    const c = this.chunks.get(chunk);
    return c !== undefined && c.length >= this.expectedLines(chunk);
  }

  /** Fetches needed so that lines [first, last) are all loaded. */
  missing(first: number, last: number): FetchRequest[] {
    const reqs: FetchRequest[] = [];
    for (const chunk of this.chunksFor(first, last)) {
      const have = this.chunks.get(chunk)?.length ?? 0;
      const want = this.expectedLines(chunk);
      if (have < want && this.blocked.get(chunk) !== this.totalLines) {
        reqs.push({ chunk, offset: chunk * this.chunkSize + have, limit: want - have });
      }
    }
    return reqs;
  }

  /** Store `lines` fetched from absolute line `offset` (inside `chunk`). */
  put(chunk: number, offset: number, lines: LogLine[]): void {
    const start = chunk * this.chunkSize;
    const at = offset - start;
    const existing = this.chunks.get(chunk) ?? [];
    // a fetch that raced with another one may start before what we have: overwrite from `at`
    if (at > existing.length) return; // a hole would follow: ignore, it will be refetched
    const merged = existing.slice(0, at).concat(lines.slice(0, this.chunkSize - at));
    this.chunks.delete(chunk);
    this.chunks.set(chunk, merged);
  }

  /** The last fetch for `chunk` could not complete it: wait for the log to change. */
  block(chunk: number): void {
    this.blocked.set(chunk, this.totalLines);
  }

  unblockAll(): void {
    this.blocked.clear();
  }

  line(n: number): LogLine | undefined {
    return this.chunks.get(this.chunkOf(n))?.[n % this.chunkSize];
  }

  /** Mark chunks as recently used. */
  touch(chunks: Iterable<number>): void {
    for (const c of chunks) {
      const v = this.chunks.get(c);
      if (v) {
        this.chunks.delete(c);
        this.chunks.set(c, v);
      }
    }
  }

  /** Drop least recently used chunks beyond maxChunks, except those in `keep`. */
  evict(keep: Set<number> = new Set()): number[] {
    const dropped: number[] = [];
    for (const c of this.chunks.keys()) {
      if (this.chunks.size <= this.maxChunks) break;
      if (keep.has(c)) continue;
      this.chunks.delete(c);
      dropped.push(c);
    }
    return dropped;
  }

  /** The log's length changed; a shorter log (purged/replaced) empties the cache. */
  setTotal(n: number): void {
    if (n < this.totalLines) this.chunks.clear();
    if (n !== this.totalLines) this.blocked.clear();
    this.totalLines = n;
  }

  clear(): void {
    this.chunks.clear();
    this.blocked.clear();
  }
}

/** Fetches `limit` lines from `offset`; returns the `content` text. */
export type LineFetcher = (offset: number, limit: number) => Promise<string>;

/** Fills a ChunkCache through a fetcher, one request per missing piece, deduplicated. */
export class LogLoader {
  readonly cache: ChunkCache;
  private inflight = new Map<string, Promise<void>>();
  onChange: () => void = () => {};
  error: string | null = null;

  constructor(
    private fetcher: LineFetcher,
    readonly logType: string,
    chunkSize = CHUNK_LINES,
    maxChunks = MAX_CHUNKS,
  ) {
    this.cache = new ChunkCache(chunkSize, maxChunks);
  }

  get pending(): number {
    return this.inflight.size;
  }

  /** Load lines [first, last), keeping their chunks in the cache. */
  ensure(first: number, last: number): Promise<void> {
    const needed = this.cache.chunksFor(first, last);
    this.cache.touch(needed);
    const reqs = this.cache.missing(first, last);
    const waits = reqs.map((r) => this.fetch(r, new Set(needed)));
    return Promise.all(waits).then(() => undefined);
  }

  private fetch(r: FetchRequest, keep: Set<number>): Promise<void> {
    const key = `${r.offset}:${r.limit}`;
    const running = this.inflight.get(key);
    if (running) return running;
    const p = this.fetcher(r.offset, r.limit)
      .then((content) => {
        const lines = parseContent(content, this.logType);
        this.cache.put(r.chunk, r.offset, lines);
        if (lines.length < r.limit) this.cache.block(r.chunk);
        this.cache.evict(keep);
        this.error = null;
      })
      .catch((e: unknown) => {
        this.cache.block(r.chunk);
        this.error = e instanceof Error ? e.message : String(e);
      })
      .finally(() => {
        this.inflight.delete(key);
        this.onChange();
      });
    this.inflight.set(key, p);
    return p;
  }

  /** Forget failed/short fetches so the next ensure() tries again. */
  retry(): void {
    this.cache.unblockAll();
    this.error = null;
    this.onChange();
  }

  /** Lines of one chunk, fetched if needed (used by search, which walks the whole log). */
  async chunkLines(chunk: number, keep: Set<number>): Promise<LogLine[]> {
    const start = chunk * this.cache.chunkSize;
    const end = start + this.cache.expectedLines(chunk);
    const reqs = this.cache.missing(start, end);
    await Promise.all(reqs.map((r) => this.fetch(r, new Set([...keep, chunk]))));
    const out: LogLine[] = [];
    for (let n = start; n < end; n++) {
      const l = this.cache.line(n);
      if (l) out.push(l);
    }
    return out;
  }
}
