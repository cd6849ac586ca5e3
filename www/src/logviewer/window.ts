// Virtual-scroll arithmetic for fixed-height lines.
//
// Browsers cap element heights (Chrome ~33M px, Firefox ~17.9M px), so past MAX_SCROLL_PX
// the scroll range is compressed: the scrollbar position maps linearly to the top line, and
// the rendered window is placed at the scroll position instead of at line * lineHeight.

export const MAX_SCROLL_PX = 8_000_000;

export interface WindowInput {
  scrollTop: number;
  viewportHeight: number;
  lineHeight: number;
  totalLines: number;
  overscan: number;
  maxScrollPx?: number;
}

export interface LineWindow {
  first: number; // first rendered line (inclusive)
  last: number; // last rendered line (exclusive)
  top: number; // px offset of line `first` from the top of the scroll content
  topLine: number; // fractional line at the top of the viewport
}

export function contentHeight(totalLines: number, lineHeight: number, maxPx = MAX_SCROLL_PX) {
  return Math.min(totalLines * lineHeight, maxPx);
}

function isCompressed(totalLines: number, lineHeight: number, maxPx: number) {
  return totalLines * lineHeight > maxPx;
}

/** Fractional line shown at the top of the viewport for a scroll position. */
export function topLineAt(inp: WindowInput): number {
  const { scrollTop, viewportHeight, lineHeight, totalLines } = inp;
  const maxPx = inp.maxScrollPx ?? MAX_SCROLL_PX;
  if (!isCompressed(totalLines, lineHeight, maxPx)) return Math.max(0, scrollTop / lineHeight);
  const range = Math.max(1, maxPx - viewportHeight);
  const lines = Math.max(0, totalLines - viewportHeight / lineHeight);
  return (Math.min(Math.max(scrollTop, 0), range) / range) * lines;
}

export function visibleWindow(inp: WindowInput): LineWindow {
  const { scrollTop, viewportHeight, lineHeight, totalLines, overscan } = inp;
  if (totalLines <= 0) return { first: 0, last: 0, top: 0, topLine: 0 };
  const topLine = Math.min(topLineAt(inp), totalLines);
  const first = Math.max(0, Math.floor(topLine) - overscan);
  const shown = Math.ceil(viewportHeight / lineHeight) + 1;
  const last = Math.min(totalLines, Math.floor(topLine) + shown + overscan);
  const top = Math.max(0, scrollTop - (topLine - first) * lineHeight);
  return { first, last, top, topLine };
}

/** Scroll position that puts `line` at the top of the viewport (inverse of topLineAt). */
export function scrollTopForLine(
  line: number,
  viewportHeight: number,
  lineHeight: number,
  totalLines: number,
  maxPx = MAX_SCROLL_PX,
): number {
  if (!isCompressed(totalLines, lineHeight, maxPx)) return Math.max(0, line * lineHeight);
  const range = Math.max(1, maxPx - viewportHeight);
  const lines = Math.max(1, totalLines - viewportHeight / lineHeight);
  return Math.min(range, Math.max(0, (line / lines) * range));
}

/** Whether the viewport shows the end of the content (within one line). */
export function atBottom(
  scrollTop: number,
  viewportHeight: number,
  scrollHeight: number,
  lineHeight: number,
): boolean {
  return scrollTop + viewportHeight >= scrollHeight - lineHeight;
}
