import { describe, expect, it } from 'vitest';
import {
  defaultExpanded,
  logPath,
  mergeProperties,
  parseAuthor,
  propertyText,
  responsibleUsers,
  safeUrl,
  tailRange,
} from '../../src/logviewer/buildinfo';

describe('build page helpers', () => {
  it('parses change authors', () => {
    expect(parseAuthor('Jane Doe <jane@example.org>')).toEqual({ name: 'Jane Doe', email: 'jane@example.org' });
    expect(parseAuthor('<jane@example.org>')).toEqual({ name: 'jane@example.org', email: 'jane@example.org' });
    expect(parseAuthor('jane@example.org')).toEqual({ name: 'jane@example.org', email: 'jane@example.org' });
    expect(parseAuthor('jane')).toEqual({ name: 'jane', email: null });
    expect(parseAuthor(null)).toEqual({ name: '', email: null });
  });

  it('lists authors and owners once each', () => {
    const people = responsibleUsers(
      [{ author: 'Jane <jane@x.org>' }, { author: 'jane@x.org' }, { author: 'bob' }, { author: '' }],
      { owner: ['jane@x.org', 'Force Build Form'], owners: [['carol <c@x.org>', 'bob'], 'x'] },
    );
    expect(people).toEqual([
      { name: 'Jane', email: 'jane@x.org', roles: ['author', 'owner'] },
      { name: 'bob', email: null, roles: ['author', 'owner'] },
      { name: 'carol', email: 'c@x.org', roles: ['owner'] },
    ]);
    expect(responsibleUsers([], null)).toEqual([]);
    expect(responsibleUsers([], { owner: [42, 's'] })).toEqual([]);
  });

  it('refuses script URLs', () => {
    expect(safeUrl('https://x/y')).toBe('https://x/y');
    expect(safeUrl('javascript:alert(1)')).toBeNull();
    expect(safeUrl(' JavaScript:alert(1)')).toBeNull();
    expect(safeUrl('data:text/html,x')).toBeNull();
    expect(safeUrl('#/builders/1')).toBe('#/builders/1');
    expect(safeUrl('mailto:a@b')).toBe('mailto:a@b');
    expect(safeUrl('')).toBeNull();
  });

  it('shows property values', () => {
    expect(propertyText('abc')).toBe('abc');
    expect(propertyText(3)).toBe('3');
    expect(propertyText(['a', 1])).toBe('["a",1]');
    expect(propertyText(null)).toBe('null');
    expect(propertyText(undefined)).toBe('');
  });

  it('expands running and the first failed step', () => {
    const steps = [
      { stepid: 1, number: 0, started_at: 1, complete: true, results: 0 },
      { stepid: 2, number: 1, started_at: 1, complete: true, results: 2 },
      { stepid: 3, number: 2, started_at: 1, complete: true, results: 4 },
      { stepid: 4, number: 3, started_at: 5, complete: false, results: null },
      { stepid: 5, number: 4, started_at: null, complete: false, results: null },
    ];
    expect([...defaultExpanded(steps)].sort()).toEqual([2, 4]);
  });

  it('merges property updates', () => {
    expect(mergeProperties({ a: [1, 's'] }, { b: [2, 't'] })).toEqual({ a: [1, 's'], b: [2, 't'] });
    expect(mergeProperties(null, { b: [2, 't'] })).toEqual({ b: [2, 't'] });
    const cur = { a: [1, 's'] as [unknown, string] };
    expect(mergeProperties(cur, null)).toBe(cur);
  });

  it('computes tail ranges and log paths', () => {
    expect(tailRange(100, 20)).toEqual({ offset: 80, limit: 20 });
    expect(tailRange(5, 20)).toEqual({ offset: 0, limit: 5 });
    expect(tailRange(0, 20)).toEqual({ offset: 0, limit: 0 });
    expect(logPath(3, 7, 1, 'stdio')).toBe('/builders/3/builds/7/steps/1/logs/stdio');
  });
});
