import { describe, it, expect, vi, afterEach } from 'vitest';
import { render, act, cleanup } from '@testing-library/preact';
import { formatDuration, formatTimeAgo, Duration } from '../../src/components/time';

afterEach(() => {
  cleanup();
  vi.useRealTimers();
});

describe('time formatting', () => {
  it('formats durations', () => {
    expect(formatDuration(0)).toBe('0s');
    expect(formatDuration(4.4)).toBe('4s');
    expect(formatDuration(65)).toBe('1m 5s');
    expect(formatDuration(3725)).toBe('1h 2m 5s');
    expect(formatDuration(90061)).toBe('1d 1h 1m');
    expect(formatDuration(null)).toBe('');
    expect(formatDuration(-5)).toBe('0s');
  });
  it('formats relative times', () => {
    expect(formatTimeAgo(1000, 1010)).toBe('a few seconds ago');
    expect(formatTimeAgo(1000, 1000 + 60)).toBe('1 minute ago');
    expect(formatTimeAgo(1000, 1000 + 3 * 3600)).toBe('3 hours ago');
    expect(formatTimeAgo(1000, 1000 + 2 * 86400)).toBe('2 days ago');
    expect(formatTimeAgo(1000 + 600, 1000)).toBe('in 10 minutes');
    expect(formatTimeAgo(undefined)).toBe('');
  });
  it('ticks a running duration', () => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date(100_000 * 1000));
    const { container } = render(<Duration start={100_000 - 5} />);
    expect(container.textContent).toBe('5s');
    act(() => {
      vi.advanceTimersByTime(3000);
    });
    expect(container.textContent).toBe('8s');
    const done = render(<Duration start={10} end={75} />);
    expect(done.container.textContent).toBe('1m 5s');
  });
});
