import { useMemo } from 'preact/hooks';
import type { PageProps } from '../routes';
import { useCollection } from '../api/live';
import { Link, setQuery } from '../router';
import { ErrorBox, Spinner, TagFilter, TimeAgo } from '../components';
import type { Buildset } from '../views/types';
import { branchesOf, columnCaption, gridColumns } from '../views/grid';
import { groupBuildersByTag } from '../views/console';
import { CountSelect, ShowAllBuilders, useBuilders } from '../views/ui';
import { useChain } from '../views/useChain';
import { CellChips } from './console';
import '../views/others.css';

// Grid: rows = builders, columns = the newest buildsets (optionally of one branch).
// 4 calls: builders, buildsets?order=-bsid&limit=5N (filtered by branch here),
// buildrequests?buildsetid__ge=.., builds?buildrequestid__ge=.. — then live.
const SIZES = [10, 20, 30, 50];

export default function Page(props: PageProps) {
  const n = SIZES.includes(Number(props.query.n)) ? Number(props.query.n) : 20;
  const branch = props.query.branch ?? '';
  const tags = props.query.tags ? props.query.tags.split(',') : [];
  const showAll = props.query.all === '1';
  const q = (o: Record<string, string | number | null>) =>
    setQuery({ n: n === 20 ? null : n, branch: branch || null, tags: tags.join(',') || null, all: showAll ? '1' : null, ...o });

  const builders = useBuilders();
  const buildsets = useCollection<Buildset>('buildsets', { order: '-bsid', limit: n * 5 });
  const columns = useMemo(() => gridColumns(buildsets.items, branch, n), [buildsets.items, branch, n]);
  const branches = useMemo(() => branchesOf(buildsets.items), [buildsets.items]);
  const chain = useChain(useMemo(() => columns.map((c) => c.bsid), [columns]));

  const rows = useMemo(() => {
    const used = new Set<number>();
    for (const bs of columns) for (const id of chain.cells.get(bs.bsid)?.keys() ?? []) used.add(id);
    const list = tags.length ? builders.list.filter((b) => tags.every((t) => b.tags?.includes(t))) : builders.list;
    return groupBuildersByTag(list, showAll ? undefined : used).flatMap((g) => g.builders);
  }, [builders.list, columns, chain.cells, showAll, tags.join(',')]);
  const allTags = useMemo(() => [...new Set(builders.list.flatMap((b) => b.tags ?? []))].sort(), [builders.list]);

  const loading = buildsets.loading || builders.loading;
  return (
    <div class="bb-page">
      <div class="bb-toolbar">
        <label>
          branch{' '}
          <select value={branch} onChange={(e) => q({ branch: e.currentTarget.value || null })} data-testid="grid-branch">
            <option value="">(all)</option>
            {(branch && !branches.includes(branch) ? [branch, ...branches] : branches).map((b) => (
              <option key={b} value={b}>
                {b}
              </option>
            ))}
          </select>
        </label>
        <CountSelect label="columns" value={n} choices={SIZES} onChange={(v) => q({ n: v })} />
        <ShowAllBuilders checked={showAll} onChange={(all) => q({ all: all ? '1' : null })} />
        <TagFilter tags={allTags} selected={tags} onChange={(t) => q({ tags: t.join(',') || null })} />
        {chain.loading && !loading ? <Spinner text="builds…" /> : null}
      </div>
      <ErrorBox error={buildsets.error || builders.error || chain.error} />
      {loading && !buildsets.items.length ? (
        <Spinner />
      ) : !columns.length ? (
        <p class="bb-empty">No buildsets{branch ? ` on branch ${branch}` : ''}.</p>
      ) : (
        <div class="bo-scroll bo-wf-viewport">
          <table class="bo-matrix" data-testid="grid-table">
            <thead>
              <tr>
                <th class="bo-rowhead">Builder</th>
                {columns.map((bs) => (
                  <th key={bs.bsid} title={`buildset ${bs.bsid}: ${bs.reason}\n${bs.sourcestamps.map((s) => `${s.repository} ${s.branch ?? ''} ${s.revision ?? ''}`).join('\n')}`}>
                    <div class="bo-vert">
                      <span class="bo-rev">{columnCaption(bs)}</span> <TimeAgo epoch={bs.submitted_at} />
                    </div>
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {rows.map((b) => (
                <tr key={b.builderid} data-testid={`grid-row-${b.builderid}`}>
                  <th class="bo-rowhead">
                    <Link to={`/builders/${b.builderid}`}>{b.name}</Link>
                  </th>
                  {columns.map((bs) => (
                    <td key={bs.bsid} class="bo-cell">
                      <CellChips cells={chain.cells.get(bs.bsid)?.get(b.builderid)} />
                    </td>
                  ))}
                </tr>
              ))}
              {!rows.length ? (
                <tr>
                  <td colSpan={columns.length + 1} class="bb-empty">
                    No builders match.
                  </td>
                </tr>
              ) : null}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
