import type { PageProps } from '../routes';
import { useEntity } from '../api/live';
import { Link } from '../router';
import { BuildBadges, DataTable, ErrorBox, Loadable, Spinner, type Column } from '../components';
import type { Project } from '../views/types';
import { useBuilders as useBuilderSummaries, type BuilderSummary } from '../api/builders';
import { Section, useTitle } from '../views/ui';
import '../views/others.css';

export default function Page(props: PageProps) {
  const pr = useEntity<Project>(`projects/${encodeURIComponent(props.params.projectid)}`);
  const summaries = useBuilderSummaries(10);
  useTitle(pr.data ? `Project ${pr.data.name}` : null);
  if (!pr.data) return <div class="bb-page">{pr.loading ? <Spinner /> : <ErrorBox error={pr.error ?? 'not found'} />}</div>;
  const p = pr.data;
  const builders = summaries.builders.filter((b) => b.projectid === p.projectid);
  const columns: Column<BuilderSummary>[] = [
    { key: 'name', title: 'Builder', render: (b) => <Link to={`/builders/${b.builderid}`}>{b.name}</Link> },
    { key: 'running', title: 'Running', class: 'bb-num', render: (b) => b.running },
    { key: 'pending', title: 'Pending', class: 'bb-num', render: (b) => b.pending },
    { key: 'recent', title: 'Latest builds', render: (b) => <BuildBadges builds={b.recent_builds} /> },
  ];
  return (
    <div class="bb-page">
      <Section title={p.name}>
        {p.description_html ? (
          <div dangerouslySetInnerHTML={{ __html: p.description_html }} />
        ) : (
          <p class={p.description ? '' : 'bb-empty'}>{p.description || 'No description.'}</p>
        )}
      </Section>
      <Section title="Builders">
        <Loadable loading={summaries.loading} error={summaries.error} hasData={summaries.builders.length > 0}>
          <DataTable columns={columns} rows={builders} rowKey={(b) => b.builderid} empty="No builders in this project." data-testid="project-builders" />
        </Loadable>
      </Section>
    </div>
  );
}
