import { describe, expect, it } from 'vitest';
import { applyCarriageReturns, parseContent, parseLine, splitContent } from '../../src/logviewer/lines';

describe('log lines', () => {
  it('splits contents into lines', () => {
    expect(splitContent('')).toEqual([]);
    expect(splitContent('a\nb\n')).toEqual(['a', 'b']);
    expect(splitContent('a\n\nb\n')).toEqual(['a', '', 'b']);
    expect(splitContent('no newline')).toEqual(['no newline']);
  });

  it('reads the stream letter of stdio logs', () => {
    expect(parseContent('hcmd\nostdout\neerr\n', 's')).toEqual([
      { stream: 'h', text: 'cmd' },
      { stream: 'o', text: 'stdout' },
      { stream: 'e', text: 'err' },
    ]);
    expect(parseLine('xodd', 's')).toEqual({ stream: null, text: 'xodd' });
    expect(parseLine('o', 's')).toEqual({ stream: 'o', text: '' });
  });

  it('keeps text logs as they are', () => {
    expect(parseContent('oh\nhello\n', 't')).toEqual([
      { stream: null, text: 'oh' },
      { stream: null, text: 'hello' },
    ]);
  });

  it('shows what a terminal shows for carriage returns', () => {
    expect(applyCarriageReturns('10%\r50%\r100%')).toBe('100%');
    expect(applyCarriageReturns('done\r')).toBe('done');
    expect(applyCarriageReturns('a\r\r')).toBe('a');
    expect(parseLine('o 1%\r 2%\r\n'.trimEnd(), 's')).toEqual({ stream: 'o', text: ' 2%' });
  });
});
