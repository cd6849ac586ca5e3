import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { cleanup, render, waitFor } from '@testing-library/preact';
import { __testing } from '../../src/api/live';
import Page, { growthInterval } from '../../src/pages/waterfall';
import { layoutWaterfall } from '../../src/views/waterfall';
import { build } from '../others/fixtures';
import { FakeSocket, mockFetch } from './helpers';

const opts = { pxPerSecond: 0.1, minHeight: 18, gapSeconds: 600, gapPx: 24 };

describe('waterfall running builds', () => {
  it('reach up to now and grow with it', () => {
    const done = build({ buildid: 1, started_at: 1000, complete_at: 1600 });
    const running = build({ buildid: 2, started_at: 1700, complete: false, complete_at: null, results: null });
    const at = (now: number) => layoutWaterfall([done, running], now, opts).blocks.find((b) => b.build.buildid === 2)!;
    expect(at(1710)).toMatchObject({ top: 0, end: 1710 });
    expect(at(1710).height).toBeGreaterThanOrEqual(18);
    expect(at(2700).height).toBeCloseTo(100); // 1000 s at 0.1 px/s
    expect(at(2700).top).toBe(0);
  });

  it('re-draws about once per pixel of growth', () => {
    expect(growthInterval(0.1)).toBe(5000);
    expect(growthInterval(0.5)).toBe(2000);
    expect(growthInterval(1)).toBe(1000);
  });
});

describe('waterfall page', () => {
  beforeEach(() => {
    __testing.reset();
    __testing.setSocketFactory((url) => new FakeSocket(url));
  });
  afterEach(() => {
    cleanup();
    __testing.reset();
    vi.unstubAllGlobals();
  });

  it('draws a running build from its start to now', async () => {
    const now = Math.floor(Date.now() / 1000);
    mockFetch((url) => {
      if (url.startsWith('api/v2/builds'))
        return { builds: [build({ buildid: 5, builderid: 1, started_at: now - 600, complete: false, complete_at: null, results: null })], meta: {} };
      if (url.startsWith('api/v2/builders')) return { builders: [{ builderid: 1, name: 'chatty', tags: [] }], meta: {} };
      return undefined;
    });
    const r = render(<Page params={{}} query={{}} />);
    const block = await waitFor(() => r.getByTestId('wf-build-5'));
    expect(block.style.top).toBe('0px');
    expect(parseFloat(block.style.height)).toBeGreaterThanOrEqual(59); // 600 s at 0.1 px/s
  });
});
