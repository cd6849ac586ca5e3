import { describe, expect, it } from 'vitest';
import { branchesOf, columnCaption, gridColumns } from '../../src/views/grid';
import { cellsByBuildset } from '../../src/views/chain';
import { firstLine, formatDuration, parseAuthor, propText, shortRev } from '../../src/views/format';
import { build, buildset, request, ss } from './fixtures';

describe('grid columns', () => {
  const sets = [
    buildset(1, [ss({ ssid: 1, branch: 'main', revision: 'a'.repeat(40) })]),
    buildset(3, [ss({ ssid: 2, branch: 'dev' })]),
    buildset(2, [ss({ ssid: 3, branch: 'main' }), ss({ ssid: 4, branch: 'dev', codebase: 'lib' })]),
  ];
  it('lists branches', () => {
    expect(branchesOf(sets)).toEqual(['dev', 'main']);
  });
  it('filters by branch, newest first, limited', () => {
    expect(gridColumns(sets, '', 10).map((b) => b.bsid)).toEqual([3, 2, 1]);
    expect(gridColumns(sets, 'main', 10).map((b) => b.bsid)).toEqual([2, 1]);
    expect(gridColumns(sets, 'dev', 1).map((b) => b.bsid)).toEqual([3]);
  });
  it('assigns builds to (builder, buildset) cells via their request', () => {
    const cells = cellsByBuildset(
      [request({ buildrequestid: 1, buildsetid: 3, builderid: 4 }), request({ buildrequestid: 2, buildsetid: 2, builderid: 4 })],
      [build({ buildid: 9, buildrequestid: 2, builderid: 4 })],
    );
    expect(cells.get(2)!.get(4)![0].builds[0].buildid).toBe(9);
    expect(cells.get(3)!.get(4)![0].builds).toEqual([]);
  });
  it('captions columns by revision or reason', () => {
    expect(columnCaption(sets[0])).toBe('aaaaaaaa');
    expect(columnCaption(sets[1])).toBe('#3');
  });
});

describe('format helpers', () => {
  it('formats', () => {
    expect(firstLine('a\nb')).toBe('a');
    expect(firstLine(null)).toBe('');
    expect(shortRev('0123456789abcdef0123456789abcdef01234567')).toBe('0123456789ab');
    expect(shortRev('r123')).toBe('r123');
    expect(parseAuthor('Jo Doe <jo@x.org>')).toEqual({ name: 'Jo Doe', email: 'jo@x.org' });
    expect(parseAuthor('jo@x.org')).toEqual({ name: 'jo@x.org', email: 'jo@x.org' });
    expect(parseAuthor('jo')).toEqual({ name: 'jo', email: null });
    expect(propText({ a: 1 })).toBe('{"a":1}');
    expect(propText('x')).toBe('x');
    expect(formatDuration(3725)).toBe('1h 2m');
    expect(formatDuration(65)).toBe('1m 5s');
    expect(formatDuration(4)).toBe('4s');
  });
});
