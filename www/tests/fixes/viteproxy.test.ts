// @vitest-environment node
import { describe, expect, it } from 'vitest';
import config, { rewriteOrigin } from '../../vite.config';

function fakeProxy() {
  const handlers: Record<string, (req: any) => void> = {};
  return { handlers, on: (ev: string, cb: (req: any) => void) => (handlers[ev] = cb) };
}

function fakeReq(headers: Record<string, string>) {
  return { headers, getHeader: (n: string) => headers[n], setHeader: (n: string, v: string) => (headers[n] = v) };
}

describe('dev server proxy', () => {
  it("sends the master's origin instead of the dev server's", () => {
    const proxy = fakeProxy();
    rewriteOrigin('http://localhost:8010/')(proxy as any);
    const req = fakeReq({ origin: 'http://localhost:5173' });
    proxy.handlers.proxyReq(req);
    expect(req.headers.origin).toBe('http://localhost:8010');
    const ws = fakeReq({ origin: 'http://localhost:5173' });
    proxy.handlers.proxyReqWs(ws);
    expect(ws.headers.origin).toBe('http://localhost:8010');
    // a request without an Origin (a GET) is left alone
    const get = fakeReq({});
    proxy.handlers.proxyReq(get);
    expect(get.headers.origin).toBeUndefined();
  });

  it('is configured on every proxied path', () => {
    const proxy = (config as any).server.proxy;
    for (const p of ['/api', '/auth', '/ws']) expect(typeof proxy[p].configure).toBe('function');
  });
});
