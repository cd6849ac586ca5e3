import type { FunctionComponent } from 'preact';
import { prefetchBuilders } from './api/builders';

export interface PageProps {
  params: Record<string, string>;
  query: Record<string, string>;
}

export interface RouteDef {
  pattern: string;
  load: () => Promise<{ default: FunctionComponent<PageProps> }>;
  /** starts the page's main request at each visit, while its code loads */
  prefetch?: () => void;
  title: string;
  nav?: { group: string; caption: string };
}

/** Buildbot's URLs, so links in old notifications keep working. */
export const routes: RouteDef[] = [
  { pattern: '/', load: () => import('./pages/home'), title: 'Home', nav: { group: '', caption: 'Home' } },
  {
    pattern: '/builders',
    // the data request runs while the page's code loads
    load: () => import('./pages/builders'),
    prefetch: () => prefetchBuilders(5), title: 'Builders', nav: { group: 'Builds', caption: 'Builders' } },
  { pattern: '/builders/:builderid', load: () => import('./pages/builder'), title: 'Builder' },
  { pattern: '/builders/:builderid/builds/:buildnumber', load: () => import('./pages/build'), title: 'Build' },
  {
    pattern: '/builders/:builderid/builds/:buildnumber/steps/:stepnumber/logs/:logslug',
    load: () => import('./pages/log'),
    title: 'Log',
  },
  { pattern: '/builds/:buildid', load: () => import('./pages/buildredirect'), title: 'Build' },
  { pattern: '/buildrequests/:buildrequestid', load: () => import('./pages/buildrequest'), title: 'Build request' },
  {
    pattern: '/pendingbuildrequests',
    load: () => import('./pages/pending'),
    title: 'Pending build requests',
    nav: { group: 'Builds', caption: 'Pending requests' },
  },
  { pattern: '/changes', load: () => import('./pages/changes'), title: 'Changes', nav: { group: 'Builds', caption: 'Changes' } },
  { pattern: '/changes/:changeid', load: () => import('./pages/change'), title: 'Change' },
  { pattern: '/workers', load: () => import('./pages/workers'), title: 'Workers', nav: { group: 'Builds', caption: 'Workers' } },
  { pattern: '/workers/:workerid', load: () => import('./pages/worker'), title: 'Worker' },
  { pattern: '/schedulers', load: () => import('./pages/schedulers'), title: 'Schedulers', nav: { group: 'Builds', caption: 'Schedulers' } },
  { pattern: '/masters', load: () => import('./pages/masters'), title: 'Masters', nav: { group: 'Builds', caption: 'Masters' } },
  { pattern: '/projects', load: () => import('./pages/projects'), title: 'Projects', nav: { group: 'Builds', caption: 'Projects' } },
  { pattern: '/projects/:projectid', load: () => import('./pages/project'), title: 'Project' },
  { pattern: '/waterfall', load: () => import('./pages/waterfall'), title: 'Waterfall', nav: { group: 'Views', caption: 'Waterfall' } },
  { pattern: '/console', load: () => import('./pages/console'), title: 'Console', nav: { group: 'Views', caption: 'Console' } },
  { pattern: '/grid', load: () => import('./pages/grid'), title: 'Grid', nav: { group: 'Views', caption: 'Grid' } },
  { pattern: '/settings', load: () => import('./pages/settings'), title: 'Settings', nav: { group: 'About', caption: 'Settings' } },
  { pattern: '/about', load: () => import('./pages/about'), title: 'About', nav: { group: 'About', caption: 'About' } },
];
