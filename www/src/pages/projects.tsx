import { useMemo } from 'preact/hooks';
import type { PageProps } from '../routes';
import { useCollection } from '../api/live';
import { Link } from '../router';
import { BuildBadges, DataTable, ErrorBox, Loadable, type Column } from '../components';
import type { Project } from '../views/types';
import { useBuilders as useBuilderSummaries, type BuilderSummary } from '../api/builders';
import '../views/others.css';

// 2 calls: projects, and builders with their recent builds (ui-api aggregate, live; see api/builders.ts).
export default function Page(_props: PageProps) {
  const projects = useCollection<Project>('projects', { order: 'name' });
  const summaries = useBuilderSummaries(5);
  const byProject = useMemo(() => {
    const m = new Map<number, BuilderSummary[]>();
    for (const b of summaries.builders) if (b.projectid != null) m.set(b.projectid, [...(m.get(b.projectid) ?? []), b]);
    return m;
  }, [summaries.builders]);
  const columns: Column<Project>[] = [
    { key: 'name', title: 'Project', render: (p) => <Link to={`/projects/${p.projectid}`}>{p.name}</Link> },
    {
      key: 'desc',
      title: 'Description',
      render: (p) =>
        p.description_html ? (
          <span class="bo-small" dangerouslySetInnerHTML={{ __html: p.description_html }} />
        ) : (
          <span class="bo-small">{p.description ?? ''}</span>
        ),
    },
    {
      key: 'builders',
      title: 'Builders (latest builds)',
      render: (p) => (
        <div class="bo-list">
          {(byProject.get(p.projectid) ?? []).map((b) => (
            <span key={b.builderid} class="bo-nowrap">
              <Link to={`/builders/${b.builderid}`}>{b.name}</Link> <BuildBadges builds={b.recent_builds.slice(0, 3)} />
            </span>
          ))}
        </div>
      ),
    },
  ];
  return (
    <div class="bb-page">
      <ErrorBox error={summaries.error} title="builders" />
      <Loadable loading={projects.loading} error={projects.error} hasData={projects.items.length > 0}>
        <DataTable columns={columns} rows={projects.items} rowKey={(p) => p.projectid} empty="No projects." data-testid="projects-table" />
      </Loadable>
    </div>
  );
}
