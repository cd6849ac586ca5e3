// ANSI escape sequences → styled text spans.
//
// Only SGR (`ESC [ ... m`) changes the style; every other escape sequence (cursor moves,
// erase-line, OSC titles/hyperlinks, lone ESC) is dropped so it never reaches the page.
// Spans carry plain text: the renderer puts it in text nodes, never in innerHTML.

export interface AnsiStyle {
  fg?: number | string; // 0-15 → class, anything else → CSS colour string
  bg?: number | string;
  bold?: boolean;
  dim?: boolean;
  italic?: boolean;
  underline?: boolean;
  strike?: boolean;
  inverse?: boolean;
}

export interface Span {
  text: string;
  cls?: string;
  style?: Record<string, string>;
}

const ESC = '\x1b';

/** The colour of xterm's 256-colour palette entry `n` (16..255) as `#rrggbb`. */
export function xterm256(n: number): string {
  let r: number, g: number, b: number;
  if (n >= 232) {
    r = g = b = 8 + (n - 232) * 10;
  } else {
    const i = n - 16;
    const level = (v: number) => (v === 0 ? 0 : 55 + v * 40);
    r = level(Math.floor(i / 36));
    g = level(Math.floor(i / 6) % 6);
    b = level(i % 6);
  }
  return '#' + [r, g, b].map((v) => v.toString(16).padStart(2, '0')).join('');
}

function clampByte(v: number | undefined): number {
  return Math.max(0, Math.min(255, v ?? 0));
}

/** 38/48 extended colour starting at params[i] (the 38 or 48); returns [colour, consumed]. */
function extendedColour(params: number[], i: number): [number | string | undefined, number] {
  const mode = params[i + 1];
  if (mode === 5) {
    const n = params[i + 2];
    if (n === undefined || Number.isNaN(n) || n > 255) return [undefined, 3];
    return [n < 16 ? n : xterm256(n), 3];
  }
  if (mode === 2) {
    const [r, g, b] = [params[i + 2], params[i + 3], params[i + 4]];
    if ([r, g, b].some((v) => v === undefined || Number.isNaN(v))) return [undefined, 5];
    const hex = [r, g, b].map((v) => clampByte(v).toString(16).padStart(2, '0')).join('');
    return ['#' + hex, 5];
  }
  return [undefined, 2];
}

/** Apply one SGR parameter list to `st` (mutated). */
export function applySgr(st: AnsiStyle, raw: string): void {
  // `38:2::r:g:b` (colon sub-parameters, optional colour-space id) → semicolon form
  let text = raw;
  text = text.replace(/([34]8):2::/g, '$1;2;').replace(/:/g, ';');
  const params = text === '' ? [0] : text.split(';').map((p) => (p === '' ? 0 : Number(p)));
  for (let i = 0; i < params.length; i++) {
    const p = params[i];
    if (Number.isNaN(p)) continue;
    if (p === 0) {
      for (const k of Object.keys(st)) delete st[k as keyof AnsiStyle];
    } else if (p === 1) st.bold = true;
    else if (p === 2) st.dim = true;
    else if (p === 3) st.italic = true;
    else if (p === 4) st.underline = true;
    else if (p === 7) st.inverse = true;
    else if (p === 9) st.strike = true;
    else if (p === 21 || p === 22) {
      delete st.bold;
      delete st.dim;
    } else if (p === 23) delete st.italic;
    else if (p === 24) delete st.underline;
    else if (p === 27) delete st.inverse;
    else if (p === 29) delete st.strike;
    else if (p >= 30 && p <= 37) st.fg = p - 30;
    else if (p === 39) delete st.fg;
    else if (p >= 40 && p <= 47) st.bg = p - 40;
    else if (p === 49) delete st.bg;
    else if (p >= 90 && p <= 97) st.fg = p - 90 + 8;
    else if (p >= 100 && p <= 107) st.bg = p - 100 + 8;
    else if (p === 38 || p === 48) {
      const [colour, used] = extendedColour(params, i);
      if (colour !== undefined) {
        if (p === 38) st.fg = colour;
        else st.bg = colour;
      }
      i += used - 1;
    }
    // anything else (blink, fonts, ...) is ignored
  }
}

function styleToSpan(text: string, st: AnsiStyle): Span {
  const cls: string[] = [];
  const style: Record<string, string> = {};
  let fg = st.fg;
  let bg = st.bg;
  if (st.inverse) {
    [fg, bg] = [bg, fg];
    if (fg === undefined) cls.push('ansi-inverse-fg');
    if (bg === undefined) cls.push('ansi-inverse-bg');
  }
  if (typeof fg === 'number') cls.push(`ansi-fg-${fg}`);
  else if (typeof fg === 'string') style.color = fg;
  if (typeof bg === 'number') cls.push(`ansi-bg-${bg}`);
  else if (typeof bg === 'string') style['background-color'] = bg;
  if (st.bold) cls.push('ansi-bold');
  if (st.dim) cls.push('ansi-dim');
  if (st.italic) cls.push('ansi-italic');
  if (st.underline) cls.push('ansi-underline');
  if (st.strike) cls.push('ansi-strike');
  const span: Span = { text };
  if (cls.length) span.cls = cls.join(' ');
  if (Object.keys(style).length) span.style = style;
  return span;
}

/** Index just past the escape sequence starting at `s[i] === ESC`, and its SGR params if any. */
function scanEscape(s: string, i: number): { end: number; sgr?: string } {
  const next = s[i + 1];
  if (next === '[') {
    // CSI: parameter bytes 0x30-0x3f, intermediates 0x20-0x2f, final byte 0x40-0x7e
    let j = i + 2;
    while (j < s.length && s.charCodeAt(j) >= 0x30 && s.charCodeAt(j) <= 0x3f) j++;
    const paramsEnd = j;
    while (j < s.length && s.charCodeAt(j) >= 0x20 && s.charCodeAt(j) <= 0x2f) j++;
    if (j >= s.length) return { end: s.length }; // truncated: drop the rest
    const c = s.charCodeAt(j);
    if (c < 0x40 || c > 0x7e) return { end: j }; // malformed: drop the introducer only
    const params = s.slice(i + 2, paramsEnd);
    if (s[j] === 'm' && paramsEnd === j && /^[0-9;:]*$/.test(params)) {
      return { end: j + 1, sgr: params };
    }
    return { end: j + 1 };
  }
  if (next === ']') {
    // OSC: up to BEL or ST (ESC \)
    for (let j = i + 2; j < s.length; j++) {
      if (s[j] === '\x07') return { end: j + 1 };
      if (s[j] === ESC && s[j + 1] === '\\') return { end: j + 2 };
    }
    return { end: s.length };
  }
  if (next === undefined) return { end: s.length };
  // two-character escapes (ESC 7, ESC =, ESC ( B ...)
  if (next === '(' || next === ')') return { end: Math.min(s.length, i + 3) };
  return { end: i + 2 };
}

/**
 * Split `s` into styled spans. `state` (optional) is the style in force at the start and is
 * updated in place, so a caller may carry it from one line to the next.
 */
export function parseAnsi(s: string, state: AnsiStyle = {}): Span[] {
  const spans: Span[] = [];
  if (s.indexOf(ESC) < 0) {
    if (s) spans.push(styleToSpan(s, state));
    return spans;
  }
  let textStart = 0;
  let i = s.indexOf(ESC);
  let buf = '';
  const flush = () => {
    if (buf) spans.push(styleToSpan(buf, state));
    buf = '';
  };
  while (i >= 0) {
    buf += s.slice(textStart, i);
    const { end, sgr } = scanEscape(s, i);
    if (sgr !== undefined) {
      flush();
      applySgr(state, sgr);
    }
    textStart = end;
    i = s.indexOf(ESC, end);
  }
  buf += s.slice(textStart);
  flush();
  // merge neighbours that ended up with the same style (e.g. `ESC[31mESC[31m`)
  const merged: Span[] = [];
  for (const sp of spans) {
    const prev = merged[merged.length - 1];
    if (prev && prev.cls === sp.cls && JSON.stringify(prev.style) === JSON.stringify(sp.style)) {
      prev.text += sp.text;
    } else merged.push(sp);
  }
  return merged;
}

/** The text of `s` without any escape sequences. */
export function stripAnsi(s: string): string {
  if (s.indexOf(ESC) < 0) return s;
  return parseAnsi(s)
    .map((sp) => sp.text)
    .join('');
}

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]);
}

/** HTML for spans (for copying/exports; the viewer itself renders elements, not HTML). */
export function spansToHtml(spans: Span[]): string {
  return spans
    .map((sp) => {
      const text = escapeHtml(sp.text);
      if (!sp.cls && !sp.style) return text;
      const attrs: string[] = [];
      if (sp.cls) attrs.push(`class="${escapeHtml(sp.cls)}"`);
      if (sp.style) {
        const css = Object.entries(sp.style)
          .map(([k, v]) => `${k}:${v}`)
          .join(';');
        attrs.push(`style="${escapeHtml(css)}"`);
      }
      return `<span ${attrs.join(' ')}>${text}</span>`;
    })
    .join('');
}
