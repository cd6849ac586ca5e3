// Lines of a log's `contents`: every line ends with "\n"; in stdio (`s`) logs each line
// starts with its stream letter: o stdout, e stderr, h header.

export type Stream = 'o' | 'e' | 'h';

export interface LogLine {
  stream: Stream | null;
  text: string; // without stream letter, newline, or overwritten carriage-return parts
}

/** Split a `contents` string into raw lines (trailing newline not producing an empty line). */
export function splitContent(content: string): string[] {
  if (!content) return [];
  const lines = content.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** What a terminal shows for a line with carriage returns: the text after the last `\r`. */
export function applyCarriageReturns(s: string): string {
  let t = s;
  while (t.endsWith('\r')) t = t.slice(0, -1);
  const cr = t.lastIndexOf('\r');
  return cr < 0 ? t : t.slice(cr + 1);
}

export function parseLine(raw: string, logType: string): LogLine {
  if (logType === 's') {
    const c = raw[0];
    if (c === 'o' || c === 'e' || c === 'h') {
      return { stream: c, text: applyCarriageReturns(raw.slice(1)) };
    }
    return { stream: null, text: applyCarriageReturns(raw) };
  }
  return { stream: null, text: applyCarriageReturns(raw) };
}

export function parseContent(content: string, logType: string): LogLine[] {
  return splitContent(content).map((l) => parseLine(l, logType));
}
