/** REST reads and JSON-RPC control calls of the data API (all URLs relative to the page). */

export type QueryValue = string | number | boolean;
export type Query = Record<string, QueryValue | QueryValue[] | null | undefined>;

export class ApiError extends Error {
  status: number;
  /** per-field messages (force scheduler validation: {fieldFullName: text}) */
  fields: Record<string, string> | null;
  code: number | null;
  constructor(message: string, status: number, fields: Record<string, string> | null = null, code: number | null = null) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.fields = fields;
    this.code = code;
  }
}

/** Paths outside the data API (the UI's own aggregate endpoints) keep their prefix. */
function resolvePath(path: string): string {
  const p = path.replace(/^\/+/, '');
  if (p.startsWith('ui-api/') || p.startsWith('api/')) return p;
  return p ? 'api/v2/' + p : 'api/v2';
}

export function encodeQuery(query?: Query): string {
  if (!query) return '';
  const sp = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined || v === null) continue;
    for (const x of Array.isArray(v) ? v : [v]) sp.append(k, String(x));
  }
  const s = sp.toString();
  return s ? '?' + s : '';
}

/** URL of a data API path (`builders/3`) with its query, relative to the page. */
export function apiUrl(path: string, query?: Query): string {
  return resolvePath(path) + encodeQuery(query);
}

/** The entity-type key of a collection answer: the last non-numeric path segment. */
export function typeKey(path: string): string {
  const segs = path.split('?')[0].split('/').filter((s) => s && !/^\d+$/.test(s));
  return segs[segs.length - 1] || '';
}

async function errorFrom(res: Response): Promise<ApiError> {
  let message = `${res.status} ${res.statusText}`;
  try {
    const text = await res.text();
    try {
      const body = JSON.parse(text);
      const e = body?.error;
      if (typeof e === 'string') message = e;
      else if (e && typeof e.message === 'string') message = e.message;
    } catch {
      if (text) message = text.slice(0, 500);
    }
  } catch {
    // keep the status text
  }
  return new ApiError(message, res.status);
}

export async function getJson(path: string, query?: Query, init?: RequestInit): Promise<any> {
  const res = await fetch(apiUrl(path, query), {
    ...init,
    headers: { Accept: 'application/json' },
    credentials: 'same-origin',
  });
  if (!res.ok) throw await errorFrom(res);
  return res.json();
}

export async function getCollection<T = any>(
  path: string,
  query?: Query,
  init?: RequestInit,
): Promise<{ items: T[]; total: number | null }> {
  const body = await getJson(path, query, init);
  let items = body?.[typeKey(path)];
  if (!Array.isArray(items)) {
    // e.g. `logs/5/contents` answers `logchunks`: take the one list in the envelope
    const k = Object.keys(body || {}).find((x) => x !== 'meta' && Array.isArray(body[x]));
    items = k ? body[k] : [];
  }
  const total = typeof body?.meta?.total === 'number' ? body.meta.total : null;
  return { items, total };
}

/** The one entity of a single-entity path, or null. */
export async function getOne<T = any>(path: string, query?: Query): Promise<T | null> {
  const { items } = await getCollection<T>(path, query);
  return items[0] ?? null;
}

let rpcId = 0;

/** JSON-RPC call (POST) on a single-entity path; throws ApiError with the server's message. */
export async function control(path: string, method: string, params: object = {}): Promise<any> {
  const id = ++rpcId;
  let res: Response;
  try {
    res = await fetch(apiUrl(path), {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', method, params, id }),
    });
  } catch (e) {
    throw new ApiError(`network error: ${(e as Error).message}`, 0);
  }
  let body: any = null;
  const text = await res.text();
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  const err = body?.error;
  if (!res.ok || err) {
    let message = `${res.status} ${res.statusText}`;
    let fields: Record<string, string> | null = null;
    let code: number | null = null;
    if (typeof err === 'string') message = err;
    else if (err && typeof err === 'object') {
      code = typeof err.code === 'number' ? err.code : null;
      const m = err.message;
      if (typeof m === 'string') message = m;
      else if (m && typeof m === 'object') {
        fields = {};
        for (const [k, v] of Object.entries(m)) fields[k] = String(v);
        message = Object.entries(fields)
          .map(([k, v]) => `${k}: ${v}`)
          .join('; ');
      }
    } else if (text && !body) message = text.slice(0, 500);
    throw new ApiError(message, res.status || 500, fields, code);
  }
  return body?.result ?? null;
}
