import { useEffect, useRef } from 'preact/hooks';
import type { PageProps } from '../routes';
import { useCollection, useEntity, useSubscription } from '../api/live';
import { Link, navigate } from '../router';
import { DataTable, Duration, ErrorBox, KeyValueTable, Loadable, ResultBadge, Spinner, TimeAgo, formatDate, type Column } from '../components';
import type { Build, BuildRequest, Buildset } from '../views/types';
import { propText, shortRev } from '../views/format';
import { Section, useBuilders, useControl, useTitle } from '../views/ui';
import '../views/others.css';

export default function Page(props: PageProps) {
  const id = Number(props.params.buildrequestid);
  const br = useEntity<BuildRequest>(`buildrequests/${id}`, { query: { property: '*' } });
  const builders = useBuilders();
  const ctl = useControl();
  useTitle(`Build request ${id}`);
  if (!br.data) return <div class="bb-page">{br.loading ? <Spinner /> : <ErrorBox error={br.error ?? 'not found'} />}</div>;
  const r = br.data;
  const props_ = Object.entries(r.properties ?? {});
  const cancel = async () => {
    if (await ctl.run('cancel', `buildrequests/${id}`, 'cancel', { reason: 'cancelled from the web UI' })) br.refresh();
  };
  const state = r.complete ? 'complete' : r.claimed ? 'claimed (building)' : 'waiting for a worker';
  return (
    <div class="bb-page">
      <Section
        title={
          <>
            Build request {id} <ResultBadge results={r.complete ? r.results : null} complete={r.complete ? true : r.claimed ? false : undefined} />
          </>
        }
        right={
          !r.complete ? (
            <button class="bb-btn" data-testid={`cancel-${id}`} onClick={cancel} disabled={!!ctl.busy}>
              Cancel
            </button>
          ) : null
        }
      >
        <ErrorBox error={ctl.error} />
        <KeyValueTable
          data-testid="buildrequest-info"
          rows={[
            ['Builder', <Link to={`/builders/${r.builderid}`}>{builders.map.get(r.builderid)?.name ?? `builder ${r.builderid}`}</Link>],
            ['State', state],
            ['Priority', String(r.priority)],
            ['Submitted', <span>{formatDate(r.submitted_at)} (<TimeAgo epoch={r.submitted_at} />)</span>],
            ...(r.claimed_at ? [['Claimed', formatDate(r.claimed_at)] as [string, string]] : []),
            ...(r.complete_at ? [['Completed', formatDate(r.complete_at)] as [string, string]] : []),
            ['Buildset', String(r.buildsetid)],
          ]}
        />
      </Section>
      <RequestBuilds request={r} follow={!!props.query.follow && props.query.follow !== '0'} />
      <BuildsetInfo bsid={r.buildsetid} />
      {props_.length ? (
        <Section title="Properties">
          <KeyValueTable rows={props_.map(([k, v]) => [k, <code>{propText(v?.[0])}</code>])} />
        </Section>
      ) : null}
    </div>
  );
}

/**
 * Where the request page goes by itself: with `follow` (opened from the force dialog) to
 * the request's first build as soon as it exists, even if it started before the page
 * loaded; without it only to a build that starts while the page is open.
 */
export function followTarget(builds: Build[], hadBuildsAtLoad: boolean | null, follow: boolean): string | null {
  if (!builds.length || hadBuildsAtLoad === null) return null;
  if (!follow && hadBuildsAtLoad) return null;
  const b = builds.reduce((a, x) => (x.buildid < a.buildid ? x : a));
  return `/builders/${b.builderid}/builds/${b.number}`;
}

function RequestBuilds(props: { request: BuildRequest; follow: boolean }) {
  const r = props.request;
  const builds = useCollection<Build>(`buildrequests/${r.buildrequestid}/builds`, undefined, { live: false });
  const hadBuilds = useRef<boolean | null>(null);
  // builds of a request have no event path of their own: watch the builder's builds
  useSubscription(`builders/${r.builderid}/builds/*/*`, (_k, m) => {
    if (m?.buildrequestid === r.buildrequestid) builds.refresh();
  }, [r.buildrequestid, builds.refresh]);
  // a build that started between the first fetch and the subscription: the request's own
  // events (claimed, complete) say there is one
  const claimed = !!r.claimed;
  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    builds.refresh();
  }, [claimed, r.complete]);
  useEffect(() => {
    if (builds.loading) return;
    if (hadBuilds.current === null) hadBuilds.current = builds.items.length > 0 && !props.follow;
    const to = followTarget(builds.items, hadBuilds.current, props.follow);
    if (to) navigate(to, { replace: props.follow });
  }, [builds.loading, builds.items, props.follow]);
  const columns: Column<Build>[] = [
    { key: 'n', title: 'Build', render: (b) => <Link to={`/builders/${b.builderid}/builds/${b.number}`}>#{b.number}</Link> },
    { key: 'r', title: 'Result', render: (b) => <ResultBadge results={b.results} complete={b.complete} /> },
    { key: 's', title: 'State', render: (b) => b.state_string },
    { key: 't', title: 'Started', render: (b) => <TimeAgo epoch={b.started_at} /> },
    { key: 'd', title: 'Duration', render: (b) => <Duration start={b.started_at} end={b.complete ? (b.complete_at ?? b.started_at) : null} /> },
  ];
  return (
    <Section title="Builds">
      <Loadable loading={builds.loading} error={builds.error} hasData={builds.items.length > 0}>
        <DataTable
          columns={columns}
          rows={builds.items}
          rowKey={(b) => b.buildid}
          empty={r.complete ? 'No build ran for this request.' : 'Not started yet: this page opens the build when it starts.'}
          data-testid="buildrequest-builds"
        />
      </Loadable>
    </Section>
  );
}

function BuildsetInfo(props: { bsid: number }) {
  const bs = useEntity<Buildset>(`buildsets/${props.bsid}`);
  if (!bs.data) return bs.error ? <ErrorBox error={bs.error} title="buildset" /> : null;
  const s = bs.data;
  return (
    <Section title={`Buildset ${s.bsid}`}>
      <KeyValueTable
        rows={[
          ['Reason', s.reason],
          ['Submitted', formatDate(s.submitted_at)],
          ...(s.external_idstring ? [['External id', s.external_idstring] as [string, string]] : []),
          ...(s.parent_buildid ? [['Parent build', <Link to={`/builds/${s.parent_buildid}`}>{s.parent_buildid}</Link>] as [string, any]] : []),
          ...s.sourcestamps.map(
            (ss) =>
              [
                `Source${ss.codebase ? ` (${ss.codebase})` : ''}`,
                <span>
                  {ss.repository} {ss.branch ?? 'default'} <span class="bo-rev">{shortRev(ss.revision) || 'HEAD'}</span>
                </span>,
              ] as [string, any],
          ),
        ]}
      />
    </Section>
  );
}
