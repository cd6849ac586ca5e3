import { vi } from 'vitest';
import { act } from '@testing-library/preact';

export class FakeSocket {
  static last: FakeSocket | null = null;
  readyState = 1;
  sent: any[] = [];
  onopen: ((ev: any) => void) | null = null;
  onclose: ((ev: any) => void) | null = null;
  onerror: ((ev: any) => void) | null = null;
  onmessage: ((ev: { data: any }) => void) | null = null;
  constructor(public url: string) {
    FakeSocket.last = this;
    setTimeout(() => this.onopen?.({}), 0);
  }
  send(d: string) {
    this.sent.push(JSON.parse(d));
  }
  close() {
    this.readyState = 3;
  }
  emit(k: string, m: any) {
    this.onmessage?.({ data: JSON.stringify({ k, m }) });
  }
}

/** fetch mock: GETs answered by `get(url)` (undefined → 404). Returns the URLs asked. */
export function mockFetch(get: (url: string) => any): string[] {
  const calls: string[] = [];
  vi.stubGlobal(
    'fetch',
    vi.fn(async (url: string) => {
      calls.push(String(url));
      const out = get(String(url));
      const status = out === undefined ? 404 : 200;
      const body = out === undefined ? { error: 'not found' } : out;
      const text = JSON.stringify(body);
      return { ok: status < 400, status, statusText: String(status), headers: new Headers({ 'Content-Type': 'application/json' }), json: async () => JSON.parse(text), text: async () => text };
    }),
  );
  return calls;
}

export const tick = () =>
  act(async () => {
    for (let i = 0; i < 10; i++) await new Promise((r) => setTimeout(r, 10));
  });
