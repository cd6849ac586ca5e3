import { afterEach, describe, expect, it } from 'vitest';
import { act, cleanup, fireEvent, render, waitFor } from '@testing-library/preact';
import { LogViewer, LINE_HEIGHT } from '../../src/logviewer/LogViewer';

function fakeLog(total: () => number, line = (i: number) => `oline ${i}`) {
  const calls: Array<[number, number]> = [];
  const fetcher = async (offset: number, limit: number) => {
    calls.push([offset, limit]);
    let s = '';
    for (let i = offset; i < Math.min(offset + limit, total()); i++) s += line(i) + '\n';
    return s;
  };
  return { calls, fetcher };
}

const lineEls = (c: Element) => [...c.querySelectorAll('.log-line')] as HTMLElement[];

describe('LogViewer', () => {
  afterEach(cleanup);

  it('opens a 200,000-line log with one chunk request and a small DOM', async () => {
    const log = fakeLog(() => 200_000);
    const { container, getByTestId } = render(
      <LogViewer logKey={1} logType="s" numLines={200_000} complete fetchLines={log.fetcher} viewportHeight={180} chunkSize={2000} />,
    );
    await waitFor(() => expect(container.querySelector('.log-line:not(.log-pending)')).not.toBeNull());
    expect(log.calls).toEqual([[0, 2000]]);
    const lines = lineEls(container);
    expect(lines.length).toBeLessThan(60);
    expect(lines[0].textContent).toBe('1line 0');
    const sizer = getByTestId('log-lines').querySelector('.log-sizer') as HTMLElement;
    expect(sizer.style.height).toBe(`${200_000 * LINE_HEIGHT}px`);

    // jump to the middle: only the chunk(s) there are fetched
    const scroller = getByTestId('log-lines');
    scroller.scrollTop = 150_000 * LINE_HEIGHT;
    fireEvent.scroll(scroller);
    await waitFor(() => expect(container.querySelector('[data-line="150000"]:not(.log-pending)')).not.toBeNull());
    expect(log.calls.slice(1).sort()).toEqual([[148_000, 2000], [150_000, 2000]]);
    expect(lineEls(container).length).toBeLessThan(80);
  });

  it('styles streams and ANSI colours, never interpreting markup', async () => {
    const content = ['hheader', 'oout \x1b[31mred\x1b[0m', 'e<img src=x onerror=alert(1)>'];
    const log = fakeLog(() => 3, (i) => content[i]);
    const { container } = render(<LogViewer logKey={1} logType="s" numLines={3} complete fetchLines={log.fetcher} viewportHeight={180} />);
    await waitFor(() => expect(container.querySelectorAll('.log-line:not(.log-pending)').length).toBe(3));
    const [h, o, e] = lineEls(container);
    expect(h.classList.contains('log-h')).toBe(true);
    expect(o.classList.contains('log-o')).toBe(true);
    expect(o.querySelector('.ansi-fg-1')?.textContent).toBe('red');
    expect(e.classList.contains('log-e')).toBe(true);
    expect(e.querySelector('img')).toBeNull();
    expect(e.querySelector('.log-text')?.textContent).toBe('<img src=x onerror=alert(1)>');
  });

  it('follows a growing log, fetching only the new lines, until the user scrolls up', async () => {
    let total = 50;
    const log = fakeLog(() => total);
    const props = { logKey: 1, logType: 's', complete: false, fetchLines: log.fetcher, viewportHeight: 180 };
    const { container, getByTestId, rerender } = render(<LogViewer {...props} numLines={total} />);
    const follow = getByTestId('log-follow');
    expect(follow.getAttribute('aria-pressed')).toBe('true');
    await waitFor(() => expect(container.querySelector('[data-line="49"]:not(.log-pending)')).not.toBeNull());
    const scroller = getByTestId('log-lines');
    expect(scroller.scrollTop).toBe(50 * LINE_HEIGHT - 180);

    total = 80;
    rerender(<LogViewer {...props} numLines={total} />);
    await waitFor(() => expect(container.querySelector('[data-line="79"]:not(.log-pending)')).not.toBeNull());
    expect(log.calls).toEqual([[0, 50], [50, 30]]);
    expect(scroller.scrollTop).toBe(80 * LINE_HEIGHT - 180);

    // the user scrolls up: following stops
    scroller.scrollTop = 0;
    fireEvent.scroll(scroller);
    await waitFor(() => expect(getByTestId('log-follow').getAttribute('aria-pressed')).toBe('false'));
    total = 100;
    rerender(<LogViewer {...props} numLines={total} />);
    await act(async () => {});
    expect(scroller.scrollTop).toBe(0);

    // the follow button jumps to the end again
    fireEvent.click(getByTestId('log-follow'));
    await waitFor(() => expect(scroller.scrollTop).toBe(100 * LINE_HEIGHT - 180));
    expect(getByTestId('log-follow').getAttribute('aria-pressed')).toBe('true');
  });

  it('searches the whole log, highlighting and moving between matches', async () => {
    const log = fakeLog(() => 5000, (i) => (i % 1000 === 500 ? `oERROR at ${i}` : `ook ${i}`));
    const { container, getByTestId } = render(
      <LogViewer logKey={1} logType="s" numLines={5000} complete fetchLines={log.fetcher} viewportHeight={180} chunkSize={1000} />,
    );
    const input = getByTestId('log-search') as HTMLInputElement;
    fireEvent.input(input, { target: { value: 'error' } });
    fireEvent.keyDown(input, { key: 'Enter' });
    await waitFor(() => expect(getByTestId('log-match-info').textContent).toContain('1 / 5'));
    await waitFor(() => expect(container.querySelector('.log-match-current')?.textContent).toBe('ERROR'));
    expect(container.querySelector('.log-match-current')?.closest('.log-line')?.getAttribute('data-line')).toBe('500');
    fireEvent.keyDown(input, { key: 'Enter' });
    await waitFor(() => expect(getByTestId('log-match-info').textContent).toContain('2 / 5'));
    await waitFor(() =>
      expect(container.querySelector('.log-match-current')?.closest('.log-line')?.getAttribute('data-line')).toBe('1500'),
    );
    fireEvent.keyDown(input, { key: 'Enter', shiftKey: true });
    await waitFor(() => expect(getByTestId('log-match-info').textContent).toContain('1 / 5'));
    fireEvent.keyDown(input, { key: 'Escape' });
    await waitFor(() => expect(container.querySelector('.log-match')).toBeNull());
  });

  it('shows html logs in a sandboxed iframe and offers downloads', () => {
    const { getByTestId } = render(
      <LogViewer logKey={1} logType="h" numLines={3} complete fetchLines={async () => ''} rawUrl="api/v2/logs/1/raw" rawInlineUrl="api/v2/logs/1/raw_inline" />,
    );
    const frame = getByTestId('log-lines') as HTMLIFrameElement;
    expect(frame.tagName).toBe('IFRAME');
    expect(frame.getAttribute('sandbox')).toBe('');
    expect(frame.getAttribute('src')).toBe('api/v2/logs/1/raw_inline');
    expect(getByTestId('log-download').getAttribute('href')).toBe('api/v2/logs/1/raw');
  });

  it('reports fetch errors with a retry', async () => {
    let fail = true;
    const fetcher = async () => {
      if (fail) throw new Error('503 unavailable');
      return 'ofine\n';
    };
    const { container, findByRole } = render(<LogViewer logKey={1} logType="s" numLines={1} complete fetchLines={fetcher} viewportHeight={180} />);
    const alert = await findByRole('alert');
    expect(alert.textContent).toContain('503 unavailable');
    fail = false;
    fireEvent.click(alert.querySelector('button')!);
    await waitFor(() => expect(container.querySelector('.log-line:not(.log-pending)')?.textContent).toBe('1fine'));
  });
});
