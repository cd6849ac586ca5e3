import { useMemo } from 'preact/hooks';
import type { PageProps } from '../routes';
import { useCollection } from '../api/live';
import { Link, setQuery } from '../router';
import { Avatar, ErrorBox, Spinner, TagFilter, TimeAgo, resultsClass, resultsText } from '../components';
import type { Buildset, Change } from '../views/types';
import { buildersInMatrix, buildsetsForChanges, consoleMatrix, groupBuildersByTag } from '../views/console';
import type { Cell } from '../views/chain';
import { firstLine, parseAuthor, shortRev } from '../views/format';
import { CountSelect, ShowAllBuilders, useBuilders } from '../views/ui';
import { useChain } from '../views/useChain';
import '../views/others.css';

/*
 * Console: rows = recent changes, columns = builders grouped by tag, cells = builds that
 * include the change. The API links builds to changes only through buildsets
 * (change.sourcestamp.ssid ∈ buildset.sourcestamps ← buildrequest.buildsetid ← build.buildrequestid),
 * and `changes/<id>/builds` would be one call per row. So the page makes 5 calls:
 *   1. builders                      2. changes?order=-changeid&limit=N
 *   3. buildsets?order=-bsid&limit=M (the recent buildsets; matched to changes by ssid/revision)
 *   4. buildrequests?buildsetid__ge=<smallest matched bsid>
 *   5. builds?buildrequestid__ge=<smallest request id>
 * then keeps everything live from the change, buildset, request and build events.
 */
const SIZES = [25, 50, 100, 200];

export default function Page(props: PageProps) {
  const n = SIZES.includes(Number(props.query.n)) ? Number(props.query.n) : 50;
  const tags = props.query.tags ? props.query.tags.split(',') : [];
  const showAll = props.query.all === '1';
  const q = (o: Record<string, string | number | null>) => setQuery({ n: n === 50 ? null : n, tags: tags.join(',') || null, all: showAll ? '1' : null, ...o });

  const builders = useBuilders();
  const changes = useCollection<Change>('changes', { order: '-changeid', limit: n });
  const buildsets = useCollection<Buildset>('buildsets', { order: '-bsid', limit: Math.min(1000, n * 4) });
  const changeSets = useMemo(() => buildsetsForChanges(changes.items, buildsets.items), [changes.items, buildsets.items]);
  const bsids = useMemo(() => [...new Set([...changeSets.values()].flat())], [changeSets]);
  const chain = useChain(bsids);
  const matrix = useMemo(() => consoleMatrix(changes.items, changeSets, chain.cells), [changes.items, changeSets, chain.cells]);

  const allTags = useMemo(() => [...new Set(builders.list.flatMap((b) => b.tags ?? []))].sort(), [builders.list]);
  const groups = useMemo(() => {
    const only = showAll ? undefined : buildersInMatrix(matrix);
    const list = tags.length ? builders.list.filter((b) => tags.every((t) => b.tags?.includes(t))) : builders.list;
    return groupBuildersByTag(list, only);
  }, [builders.list, matrix, showAll, tags.join(',')]);
  const columns = groups.flatMap((g) => g.builders.map((b, i) => ({ b, first: i === 0 })));

  const error = changes.error || buildsets.error || chain.error || builders.error;
  const loading = changes.loading || buildsets.loading || builders.loading;
  return (
    <div class="bb-page">
      <div class="bb-toolbar">
        <CountSelect label="changes" value={n} choices={SIZES} onChange={(v) => q({ n: v })} testid="console-n" />
        <ShowAllBuilders checked={showAll} onChange={(all) => q({ all: all ? '1' : null })} />
        <TagFilter tags={allTags} selected={tags} onChange={(t) => q({ tags: t.join(',') || null })} />
        {chain.loading && !loading ? <Spinner text="builds…" /> : null}
      </div>
      <ErrorBox error={error} />
      {loading && !changes.items.length ? (
        <Spinner />
      ) : !changes.items.length ? (
        <p class="bb-empty">No changes.</p>
      ) : (
        <div class="bo-scroll bo-wf-viewport">
          <table class="bo-matrix" data-testid="console-table">
            <thead>
              <tr>
                <th class="bo-rowhead" />
                {groups.map((g) => (
                  <th key={g.tag} colSpan={g.builders.length} class="bo-taghead">
                    {g.tag || <span class="bb-muted">untagged</span>}
                  </th>
                ))}
              </tr>
              <tr>
                <th class="bo-rowhead">Change</th>
                {columns.map(({ b, first }) => (
                  <th key={b.builderid} class={first ? 'bo-groupstart' : ''} title={b.name}>
                    <Link to={`/builders/${b.builderid}`} class="bo-vert">
                      {b.name}
                    </Link>
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {changes.items.map((c) => {
                const row = matrix.get(c.changeid);
                const a = parseAuthor(c.author);
                return (
                  <tr key={c.changeid} data-testid={`console-row-${c.changeid}`}>
                    <th class="bo-rowhead">
                      <span class="bo-comment-line" title={c.comments}>
                        <Avatar email={a.email} name={a.name} size={16} /> <Link to={`/changes/${c.changeid}`}>{firstLine(c.comments) || `change ${c.changeid}`}</Link>
                      </span>
                      <span class="bb-muted bo-small">
                        {a.name} · <span class="bo-rev">{shortRev(c.revision)}</span> · {c.branch ?? 'default'} · <TimeAgo epoch={c.when_timestamp} />
                      </span>
                    </th>
                    {columns.map(({ b, first }) => (
                      <td key={b.builderid} class={`bo-cell${first ? ' bo-groupstart' : ''}`}>
                        <CellChips cells={row?.get(b.builderid)} />
                      </td>
                    ))}
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}

/** Chips of one cell: each build (link, coloured by result) or a pending request. */
export function CellChips(props: { cells: Cell[] | undefined }) {
  if (!props.cells?.length) return null;
  return (
    <>
      {props.cells.map((c) =>
        c.builds.length ? (
          c.builds.map((b) => (
            <Link
              key={b.buildid}
              to={`/builders/${b.builderid}/builds/${b.number}`}
              class={`bo-chip ${resultsClass(b.results, b.complete)}`}
              title={`#${b.number} ${resultsText(b.results, b.complete)}: ${b.state_string}`}
              data-testid={`cell-build-${b.buildid}`}
            >
              {b.number}
            </Link>
          ))
        ) : (
          <Link
            key={`r${c.request.buildrequestid}`}
            to={`/buildrequests/${c.request.buildrequestid}`}
            class={`bo-chip ${c.request.complete ? resultsClass(c.request.results, true) : 'bo-pending'}`}
            title={c.request.complete ? `request ${c.request.buildrequestid}: ${resultsText(c.request.results, true)}` : `request ${c.request.buildrequestid} pending`}
          >
            ·
          </Link>
        ),
      )}
    </>
  );
}
