import { describe, it, expect, afterEach } from 'vitest';
import { render, cleanup } from '@testing-library/preact';
import { parseHash, matchPattern, href, navigate, route, setPatterns, Link, queryString, setQuery, setPageTitle, pageTitle } from '../../src/router';
import { routes } from '../../src/routes';

afterEach(() => cleanup());

describe('router', () => {
  it('parses hashes', () => {
    expect(parseHash('#/builders/3?tags=a,b&x=1')).toEqual({ path: '/builders/3', query: { tags: 'a,b', x: '1' } });
    expect(parseHash('')).toEqual({ path: '/', query: {} });
    expect(parseHash('#!/workers/')).toEqual({ path: '/workers', query: {} });
  });
  it('matches patterns', () => {
    expect(matchPattern('/builders/:builderid', '/builders/3')).toEqual({ builderid: '3' });
    expect(matchPattern('/builders/:builderid', '/builders/3/builds/1')).toBeNull();
    expect(matchPattern('/', '/')).toEqual({});
    expect(matchPattern('/changes/:id', '/changes/a%20b')).toEqual({ id: 'a b' });
  });
  it('builds links', () => {
    expect(href('/builders/3')).toBe('#/builders/3');
    expect(href('builders')).toBe('#/builders');
    expect(queryString({ a: 'x', b: '', c: 0, d: false, e: null })).toBe('?a=x&c=0');
    const { container } = render(<Link to="/masters">m</Link>);
    expect(container.querySelector('a')!.getAttribute('href')).toBe('#/masters');
  });
  it('navigates and fills params from the route table', () => {
    setPatterns(routes.map((r) => r.pattern));
    navigate('/builders/7/builds/12?x=1');
    expect(route.value.pattern).toBe('/builders/:builderid/builds/:buildnumber');
    expect(route.value.params).toEqual({ builderid: '7', buildnumber: '12' });
    expect(route.value.query).toEqual({ x: '1' });
    expect(location.hash).toBe('#/builders/7/builds/12?x=1');
    setQuery({ offset: 20 });
    expect(route.value.path).toBe('/builders/7/builds/12');
    expect(route.value.query).toEqual({ offset: '20' });
    navigate('/nowhere');
    expect(route.value.pattern).toBeNull();
  });
  it('keeps a page title for its path only', () => {
    navigate('/builders/1');
    setPageTitle('Builder b1');
    expect(pageTitle.value).toEqual({ path: '/builders/1', title: 'Builder b1' });
  });
  it('has every route of Buildbot', () => {
    const p = routes.map((r) => r.pattern);
    for (const x of [
      '/',
      '/builders',
      '/builders/:builderid',
      '/builders/:builderid/builds/:buildnumber',
      '/builders/:builderid/builds/:buildnumber/steps/:stepnumber/logs/:logslug',
      '/builds/:buildid',
      '/buildrequests/:buildrequestid',
      '/workers',
      '/workers/:workerid',
      '/changes',
      '/changes/:changeid',
      '/pendingbuildrequests',
      '/masters',
      '/schedulers',
      '/projects',
      '/projects/:projectid',
      '/waterfall',
      '/console',
      '/grid',
      '/settings',
      '/about',
    ])
      expect(p).toContain(x);
  });
});
