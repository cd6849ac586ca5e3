import { describe, expect, it } from 'vitest';
import { escapeHtml, parseAnsi, spansToHtml, stripAnsi, xterm256, type AnsiStyle } from '../../src/logviewer/ansi';

const E = '\x1b';

describe('parseAnsi', () => {
  it('returns plain text as one unstyled span', () => {
    expect(parseAnsi('hello world')).toEqual([{ text: 'hello world' }]);
    expect(parseAnsi('')).toEqual([]);
  });

  it('maps the 8 basic and 8 bright foreground colours to classes', () => {
    expect(parseAnsi(`${E}[31mred${E}[0m plain`)).toEqual([
      { text: 'red', cls: 'ansi-fg-1' },
      { text: ' plain' },
    ]);
    expect(parseAnsi(`${E}[92mgreen`)).toEqual([{ text: 'green', cls: 'ansi-fg-10' }]);
    expect(parseAnsi(`${E}[44mbg${E}[104mbright`)).toEqual([
      { text: 'bg', cls: 'ansi-bg-4' },
      { text: 'bright', cls: 'ansi-bg-12' },
    ]);
  });

  it('combines attributes and resets them one by one', () => {
    const spans = parseAnsi(`${E}[1;4;33mA${E}[22mB${E}[24mC${E}[39mD`);
    expect(spans).toEqual([
      { text: 'A', cls: 'ansi-fg-3 ansi-bold ansi-underline' },
      { text: 'B', cls: 'ansi-fg-3 ansi-underline' },
      { text: 'C', cls: 'ansi-fg-3' },
      { text: 'D' },
    ]);
  });

  it('treats ESC[m and empty parameters as a reset', () => {
    expect(parseAnsi(`${E}[1mA${E}[mB`)).toEqual([{ text: 'A', cls: 'ansi-bold' }, { text: 'B' }]);
    expect(parseAnsi(`${E}[31;mA`)).toEqual([{ text: 'A' }]); // 31 then 0
  });

  it('supports 256-colour codes', () => {
    expect(parseAnsi(`${E}[38;5;9mA`)).toEqual([{ text: 'A', cls: 'ansi-fg-9' }]);
    expect(parseAnsi(`${E}[38;5;196mA`)).toEqual([{ text: 'A', style: { color: '#ff0000' } }]);
    expect(parseAnsi(`${E}[48;5;232mA`)).toEqual([{ text: 'A', style: { 'background-color': '#080808' } }]);
    expect(xterm256(16)).toBe('#000000');
    expect(xterm256(231)).toBe('#ffffff');
    expect(xterm256(255)).toBe('#eeeeee');
    expect(xterm256(67)).toBe('#5f87af');
  });

  it('supports truecolour, with ; and : separators', () => {
    expect(parseAnsi(`${E}[38;2;255;128;0mA`)).toEqual([{ text: 'A', style: { color: '#ff8000' } }]);
    expect(parseAnsi(`${E}[48:2::1:2:3mA`)).toEqual([{ text: 'A', style: { 'background-color': '#010203' } }]);
    expect(parseAnsi(`${E}[38;2;300;0;0mA`)[0].style).toEqual({ color: '#ff0000' });
  });

  it('continues after an extended colour in the same sequence', () => {
    expect(parseAnsi(`${E}[38;5;2;1mA`)).toEqual([{ text: 'A', cls: 'ansi-fg-2 ansi-bold' }]);
    expect(parseAnsi(`${E}[38;2;1;2;3;4mA`)).toEqual([{ text: 'A', cls: 'ansi-underline', style: { color: '#010203' } }]);
  });

  it('swaps colours for inverse video', () => {
    expect(parseAnsi(`${E}[7;31mA`)).toEqual([{ text: 'A', cls: 'ansi-inverse-fg ansi-bg-1' }]);
    expect(parseAnsi(`${E}[7mA${E}[27mB`)).toEqual([{ text: 'A', cls: 'ansi-inverse-fg ansi-inverse-bg' }, { text: 'B' }]);
  });

  it('drops non-SGR and malformed sequences without losing text', () => {
    expect(parseAnsi(`a${E}[2Kb${E}[1;1Hc`)).toEqual([{ text: 'abc' }]);
    expect(parseAnsi(`a${E}]0;title${E}\\b`)).toEqual([{ text: 'ab' }]);
    expect(parseAnsi(`a${E}]8;;http://x\x07link${E}]8;;\x07`)).toEqual([{ text: 'alink' }]);
    expect(parseAnsi(`a${E}(Bb${E}=c`)).toEqual([{ text: 'abc' }]);
    // truncated at the end of the line
    expect(parseAnsi(`abc${E}[31`)).toEqual([{ text: 'abc' }]);
    expect(parseAnsi(`abc${E}`)).toEqual([{ text: 'abc' }]);
    // an invalid byte inside a CSI: the introducer is dropped, the text kept
    expect(stripAnsi(`a${E}[3\x01b`)).toBe('a\x01b');
    // unknown and bogus SGR parameters are ignored
    expect(parseAnsi(`${E}[5;31;999mA`)).toEqual([{ text: 'A', cls: 'ansi-fg-1' }]);
    expect(parseAnsi(`${E}[38;5mA`)).toEqual([{ text: 'A' }]);
    expect(parseAnsi(`${E}[38;2;1mA`)).toEqual([{ text: 'A' }]);
    expect(parseAnsi(`${E}[38;7mA`)).toEqual([{ text: 'A' }]);
  });

  it('merges neighbouring spans of the same style', () => {
    expect(parseAnsi(`${E}[31mA${E}[31mB`)).toEqual([{ text: 'AB', cls: 'ansi-fg-1' }]);
  });

  it('can carry the style from one line to the next', () => {
    const st: AnsiStyle = {};
    parseAnsi(`${E}[32mstart`, st);
    expect(parseAnsi('next', st)).toEqual([{ text: 'next', cls: 'ansi-fg-2' }]);
    parseAnsi(`${E}[0m`, st);
    expect(parseAnsi('after', st)).toEqual([{ text: 'after' }]);
  });

  it('keeps markup as text, and escapes it in HTML output', () => {
    const spans = parseAnsi(`${E}[31m<script>alert("x")</script>&${E}[0m`);
    expect(spans[0].text).toBe('<script>alert("x")</script>&');
    const html = spansToHtml(spans);
    expect(html).toBe('<span class="ansi-fg-1">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;</span>');
    expect(spansToHtml(parseAnsi(`${E}[38;2;1;2;3m'q'`))).toBe('<span style="color:#010203">&#39;q&#39;</span>');
    expect(escapeHtml(`<a href='x'>&</a>`)).toBe('&lt;a href=&#39;x&#39;&gt;&amp;&lt;/a&gt;');
  });
});
