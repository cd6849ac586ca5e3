import { describe, it, expect, vi, afterEach } from 'vitest';
import { apiUrl, typeKey, getCollection, getJson, control, ApiError, encodeQuery } from '../../src/api/rest';

afterEach(() => vi.unstubAllGlobals());

function stubFetch(status: number, body: unknown, statusText = '') {
  const f = vi.fn(async (_url: string, _init?: RequestInit) => ({
    ok: status >= 200 && status < 300,
    status,
    statusText,
    json: async () => body,
    text: async () => (typeof body === 'string' ? body : JSON.stringify(body)),
  }));
  vi.stubGlobal('fetch', f);
  return f;
}

describe('rest', () => {
  it('builds relative URLs', () => {
    expect(apiUrl('builders')).toBe('api/v2/builders');
    expect(apiUrl('/builds', { limit: 20, order: '-buildid', complete: false })).toBe('api/v2/builds?limit=20&order=-buildid&complete=false');
    expect(apiUrl('builds', { property: ['a', '*'] })).toBe('api/v2/builds?property=a&property=*');
    expect(apiUrl('ui-api/builders', { builds: 5 })).toBe('ui-api/builders?builds=5');
    expect(apiUrl('')).toBe('api/v2');
    expect(encodeQuery({ a: undefined, b: null })).toBe('');
  });
  it('finds the type key', () => {
    expect(typeKey('builders/3/builds')).toBe('builds');
    expect(typeKey('builds/12')).toBe('builds');
    expect(typeKey('builders/3/builds/7/steps')).toBe('steps');
    expect(typeKey('ui-api/builders')).toBe('builders');
  });
  it('reads collections', async () => {
    const f = stubFetch(200, { builds: [{ buildid: 1 }], meta: { total: 5 } });
    const r = await getCollection('builders/3/builds', { limit: 1 });
    expect(r).toEqual({ items: [{ buildid: 1 }], total: 5 });
    expect(f.mock.calls[0][0]).toBe('api/v2/builders/3/builds?limit=1');
    expect((f.mock.calls[0][1] as any).headers.Accept).toBe('application/json');
  });
  it('takes the one list when the key differs', async () => {
    stubFetch(200, { logchunks: [{ content: 'x' }], meta: {} });
    expect((await getCollection('logs/3/contents')).items).toEqual([{ content: 'x' }]);
  });
  it('throws ApiError with the server message', async () => {
    stubFetch(404, { error: 'Invalid path: nope' }, 'Not Found');
    const e = await getJson('nope').catch((x) => x);
    expect(e).toBeInstanceOf(ApiError);
    expect(e.status).toBe(404);
    expect(e.message).toBe('Invalid path: nope');
  });
  it('sends JSON-RPC and returns the result', async () => {
    const f = stubFetch(200, { id: 1, jsonrpc: '2.0', result: [3, { '1': 4 }] });
    expect(await control('forceschedulers/force', 'force', { builderid: '1' })).toEqual([3, { '1': 4 }]);
    const [url, init] = f.mock.calls[0] as [string, RequestInit];
    expect(url).toBe('api/v2/forceschedulers/force');
    expect(init.method).toBe('POST');
    const body = JSON.parse(String(init.body));
    expect(body).toMatchObject({ jsonrpc: '2.0', method: 'force', params: { builderid: '1' } });
    expect(typeof body.id).toBe('number');
  });
  it('reports JSON-RPC errors, with field messages', async () => {
    stubFetch(400, { jsonrpc: '2.0', id: 1, error: { code: -32602, message: { foo: 'bad foo' } } });
    const e = await control('forceschedulers/force', 'force').catch((x) => x);
    expect(e.status).toBe(400);
    expect(e.code).toBe(-32602);
    expect(e.fields).toEqual({ foo: 'bad foo' });
    expect(e.message).toBe('foo: bad foo');
    stubFetch(403, { jsonrpc: '2.0', id: 2, error: { code: -32600, message: "you need to have role 'admins'" } });
    const d = await control('builds/1', 'stop').catch((x) => x);
    expect(d.status).toBe(403);
    expect(d.message).toBe("you need to have role 'admins'");
    expect(d.fields).toBeNull();
  });
});
