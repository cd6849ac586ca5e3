import { useState } from 'preact/hooks';
import type { PageProps } from '../routes';
import { useCollection } from '../api/live';
import { Link, setQuery } from '../router';
import { Avatar, BuildBadges, ErrorBox, Loadable, Pager, Spinner, TimeAgo } from '../components';
import type { Build, Builder, Change } from '../views/types';
import { firstLine, parseAuthor, shortRev } from '../views/format';
import { useBuilders } from '../views/ui';
import '../views/others.css';

const LIMIT = 50;

// One call per page (`changes?order=-changeid&limit=50&offset=..`), live for new changes;
// the builds of a change are fetched only when its row is expanded.
export default function Page(props: PageProps) {
  const offset = Math.max(0, Number(props.query.offset || 0) || 0);
  const changes = useCollection<Change>('changes', { order: '-changeid', limit: LIMIT, offset });
  const builders = useBuilders();
  const [open, setOpen] = useState<Set<number>>(new Set());
  const toggle = (id: number) => {
    const n = new Set(open);
    if (n.has(id)) n.delete(id);
    else n.add(id);
    setOpen(n);
  };
  return (
    <div class="bb-page">
      <Loadable loading={changes.loading} error={changes.error} hasData={changes.items.length > 0}>
        <table class="bb-table" data-testid="changes-table">
          <thead>
            <tr>
              <th />
              <th>Author</th>
              <th>Comments</th>
              <th>Revision</th>
              <th>Branch</th>
              <th>Repository</th>
              <th class="bb-num">Files</th>
              <th>When</th>
            </tr>
          </thead>
          <tbody>
            {changes.items.length === 0 ? (
              <tr>
                <td colSpan={8} class="bb-empty">
                  No changes.
                </td>
              </tr>
            ) : null}
            {changes.items.map((c) => (
              <ChangeRow key={c.changeid} change={c} open={open.has(c.changeid)} onToggle={() => toggle(c.changeid)} builders={builders.map} />
            ))}
          </tbody>
        </table>
        {/* `meta.total` is the page length for SQL-paged endpoints: page on fullness instead */}
        <Pager total={null} limit={LIMIT} offset={offset} count={changes.items.length} onPage={(o) => setQuery({ offset: o || null }, false)} />
      </Loadable>
    </div>
  );
}

export function AuthorCell(props: { author: string }) {
  const a = parseAuthor(props.author);
  return (
    <span class="bo-nowrap" title={props.author}>
      <Avatar email={a.email} name={a.name} size={20} /> {a.name}
    </span>
  );
}

export function RevisionLink(props: { change: Pick<Change, 'revision' | 'revlink'> }) {
  const { revision, revlink } = props.change;
  if (!revision) return <span class="bb-muted">—</span>;
  return revlink ? (
    <a class="bo-rev" href={revlink} target="_blank" rel="noopener noreferrer" title={revision}>
      {shortRev(revision)}
    </a>
  ) : (
    <span class="bo-rev" title={revision}>
      {shortRev(revision)}
    </span>
  );
}

function ChangeRow(props: { change: Change; open: boolean; onToggle: () => void; builders: Map<number, Builder> }) {
  const c = props.change;
  const multi = c.comments.includes('\n');
  return (
    <>
      <tr data-testid={`change-${c.changeid}`}>
        <td>
          <button class="bb-link-btn" aria-expanded={props.open} onClick={props.onToggle} title="details and builds" data-testid={`change-expand-${c.changeid}`}>
            {props.open ? '▾' : '▸'}
          </button>
          <Link to={`/changes/${c.changeid}`}>{c.changeid}</Link>
        </td>
        <td>
          <AuthorCell author={c.author} />
        </td>
        <td class="bo-comment" onClick={props.onToggle}>
          {firstLine(c.comments)}
          {multi && !props.open ? <span class="bb-muted"> …</span> : null}
        </td>
        <td>
          <RevisionLink change={c} />
        </td>
        <td>{c.branch ?? <span class="bb-muted">default</span>}</td>
        <td class="bo-small">{c.repository}</td>
        <td class="bb-num">{c.files?.length ?? 0}</td>
        <td>
          <TimeAgo epoch={c.when_timestamp} />
        </td>
      </tr>
      {props.open ? (
        <tr class="bo-expand">
          <td />
          <td colSpan={7}>
            <div class="bo-comment">
              <pre>{c.comments}</pre>
            </div>
            {c.files?.length ? (
              <details>
                <summary class="bo-small">{c.files.length} files</summary>
                <ul class="bo-small">
                  {c.files.slice(0, 200).map((f) => (
                    <li key={f}>{f}</li>
                  ))}
                </ul>
              </details>
            ) : null}
            <ChangeBuilds changeid={c.changeid} builders={props.builders} />
          </td>
        </tr>
      ) : null}
    </>
  );
}

/** Builds of one change: `changes/<id>/builds` (no events exist for that path: live off). */
export function ChangeBuilds(props: { changeid: number; builders: Map<number, Builder> }) {
  const builds = useCollection<Build>(`changes/${props.changeid}/builds`, undefined, { live: false });
  if (builds.loading && !builds.items.length) return <Spinner />;
  if (builds.error) return <ErrorBox error={builds.error} />;
  if (!builds.items.length) return <p class="bb-empty">No builds for this change yet.</p>;
  const byBuilder = new Map<number, Build[]>();
  for (const b of builds.items) byBuilder.set(b.builderid, [...(byBuilder.get(b.builderid) ?? []), b]);
  return (
    <div class="bo-list" data-testid={`change-builds-${props.changeid}`}>
      {[...byBuilder.entries()].map(([bid, list]) => (
        <span key={bid} class="bo-nowrap">
          <Link to={`/builders/${bid}`}>{props.builders.get(bid)?.name ?? `builder ${bid}`}</Link>{' '}
          <BuildBadges builds={list.sort((a, b) => b.number - a.number)} />
        </span>
      ))}
    </div>
  );
}
