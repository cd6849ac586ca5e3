import type { PageProps } from '../routes';
import { useCollection, useEntity } from '../api/live';
import { Link } from '../router';
import { DataTable, Duration, ErrorBox, KeyValueTable, Loadable, ResultBadge, Spinner, TimeAgo, formatDate, type Column } from '../components';
import type { Build, Change } from '../views/types';
import { propText } from '../views/format';
import { Section, useBuilders, useRefreshOn, useTitle } from '../views/ui';
import { AuthorCell, RevisionLink } from './changes';
import '../views/others.css';

export default function Page(props: PageProps) {
  const id = props.params.changeid;
  const ch = useEntity<Change>(`changes/${encodeURIComponent(id)}`, { live: false });
  useTitle(ch.data ? `Change ${ch.data.changeid}` : null);
  if (!ch.data) return <div class="bb-page">{ch.loading ? <Spinner /> : <ErrorBox error={ch.error ?? 'not found'} />}</div>;
  const c = ch.data;
  const props_ = Object.entries(c.properties ?? {});
  return (
    <div class="bb-page">
      <Section title={`Change ${c.changeid}`}>
        <KeyValueTable
          data-testid="change-info"
          rows={[
            ['Author', <AuthorCell author={c.author} />],
            ...(c.committer && c.committer !== c.author ? [['Committer', c.committer] as [string, string]] : []),
            ['Revision', <RevisionLink change={c} />],
            ['Branch', c.branch ?? 'default'],
            ['Repository', c.repository],
            ['Project', c.project || '—'],
            ['Codebase', c.codebase || '—'],
            ['Category', c.category || '—'],
            ['When', <span>{formatDate(c.when_timestamp)} (<TimeAgo epoch={c.when_timestamp} />)</span>],
          ]}
        />
        <h3 style={{ marginTop: '12px' }}>Comments</h3>
        <pre style={{ whiteSpace: 'pre-wrap' }}>{c.comments}</pre>
      </Section>
      <Section title={`Files (${c.files?.length ?? 0})`}>
        <ul class="bo-small">
          {(c.files ?? []).map((f) => (
            <li key={f}>{f}</li>
          ))}
        </ul>
      </Section>
      {props_.length ? (
        <Section title="Properties">
          <KeyValueTable rows={props_.map(([k, v]) => [k, <code>{propText(v?.[0])}</code>])} />
        </Section>
      ) : null}
      <Builds changeid={c.changeid} />
    </div>
  );
}

function Builds(props: { changeid: number }) {
  const builders = useBuilders();
  const builds = useCollection<Build>(`changes/${props.changeid}/builds`, undefined, { live: false });
  // no event path exists for a change's builds: refresh when any build starts or finishes
  useRefreshOn('builds/*/*', (k) => k.endsWith('/new') || k.endsWith('/finished'), builds.refresh, 1000);
  const columns: Column<Build>[] = [
    {
      key: 'b',
      title: 'Build',
      render: (b) => (
        <Link to={`/builders/${b.builderid}/builds/${b.number}`}>
          {builders.map.get(b.builderid)?.name ?? `builder ${b.builderid}`} #{b.number}
        </Link>
      ),
    },
    { key: 'r', title: 'Result', render: (b) => <ResultBadge results={b.results} complete={b.complete} /> },
    { key: 's', title: 'State', render: (b) => b.state_string },
    { key: 't', title: 'Started', render: (b) => <TimeAgo epoch={b.started_at} /> },
    { key: 'd', title: 'Duration', render: (b) => <Duration start={b.started_at} end={b.complete ? (b.complete_at ?? b.started_at) : null} /> },
  ];
  return (
    <Section title="Builds">
      <Loadable loading={builds.loading} error={builds.error} hasData={builds.items.length > 0}>
        <DataTable columns={columns} rows={[...builds.items].sort((a, b) => b.buildid - a.buildid)} rowKey={(b) => b.buildid} empty="No builds yet." />
      </Loadable>
    </Section>
  );
}
