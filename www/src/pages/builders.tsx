import { useMemo, useState } from 'preact/hooks';
import type { PageProps } from '../routes';
import { Link, setQuery } from '../router';
import { useBuilders, type BuilderSummary } from '../api/builders';
import { BuildBadges, ErrorBox, ResultBadge, Spinner, Tag, TagFilter } from '../components';

/** Selected tags from the hash query (`?tags=a,b` or `?tags=a`). */
export function parseTags(q: string | undefined): string[] {
  return (q || '')
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
}

export function filterBuilders(list: BuilderSummary[], tags: string[], search: string, showInactive: boolean): BuilderSummary[] {
  const s = search.trim().toLowerCase();
  return list.filter(
    (b) =>
      (showInactive || b.masterids.length > 0 || b.running > 0) &&
      tags.every((t) => b.tags.includes(t)) &&
      (!s || b.name.toLowerCase().includes(s) || b.tags.some((t) => t.toLowerCase().includes(s))),
  );
}

function LastStatus(props: { b: BuilderSummary }) {
  const { b } = props;
  if (b.running > 0) return <ResultBadge results={null} complete={false} />;
  const last = b.recent_builds.find((x) => x.complete);
  if (!last) return <span class="bb-muted">no builds</span>;
  return <ResultBadge results={last.results} complete />;
}

export default function BuildersPage(props: PageProps) {
  const data = useBuilders(5);
  const tags = parseTags(props.query.tags);
  const search = props.query.search || '';
  const showInactive = props.query.inactive === '1';
  const [text, setText] = useState(search);
  const allTags = useMemo(() => [...new Set(data.builders.flatMap((b) => b.tags))].sort(), [data.builders]);
  const shown = useMemo(
    () => filterBuilders(data.builders, tags, search, showInactive).sort((a, b) => a.name.localeCompare(b.name)),
    [data.builders, props.query.tags, search, showInactive],
  );
  const setQ = (q: { tags?: string[]; search?: string; inactive?: boolean }) =>
    setQuery({
      tags: (q.tags ?? tags).join(','),
      search: q.search ?? search,
      inactive: (q.inactive ?? showInactive) ? '1' : '',
    });
  const toggleTag = (t: string) => setQ({ tags: tags.includes(t) ? tags.filter((x) => x !== t) : [...tags, t] });

  return (
    <div class="bb-page" data-testid="builders-page">
      <div class="bb-toolbar">
        <input
          type="search"
          class="bb-search"
          placeholder="Search builders…"
          value={text}
          data-testid="builders-search"
          onInput={(e) => {
            const v = e.currentTarget.value;
            setText(v);
            setQ({ search: v });
          }}
        />
        <label class="bb-muted">
          <input type="checkbox" checked={showInactive} onChange={(e) => setQ({ inactive: e.currentTarget.checked })} /> show inactive
        </label>
        <span class="bb-grow" />
        <span class="bb-muted" data-testid="builders-count">
          {shown.length} of {data.builders.length} builders
        </span>
      </div>
      {allTags.length ? (
        <div class="bb-toolbar">
          <span class="bb-muted">Tags:</span>
          <TagFilter tags={allTags} selected={tags} onChange={(t) => setQ({ tags: t })} />
        </div>
      ) : null}
      <ErrorBox error={data.error} />
      {data.loading && !data.builders.length ? (
        <Spinner />
      ) : (
        <table class="bb-table" data-testid="builders-table">
          <thead>
            <tr>
              <th>Builder</th>
              <th>Status</th>
              <th>Recent builds</th>
              <th class="bb-num">Running</th>
              <th class="bb-num">Pending</th>
              <th>Tags</th>
            </tr>
          </thead>
          <tbody>
            {shown.length === 0 ? (
              <tr>
                <td colSpan={6} class="bb-empty">
                  No builders match.
                </td>
              </tr>
            ) : (
              shown.map((b) => (
                <tr key={b.builderid} data-builderid={b.builderid} data-testid={`builder-row-${b.name}`}>
                  <td>
                    <Link to={`/builders/${b.builderid}`} title={b.description ?? undefined}>
                      {b.name}
                    </Link>
                  </td>
                  <td>
                    <LastStatus b={b} />
                  </td>
                  <td>
                    <BuildBadges builds={b.recent_builds} />
                  </td>
                  <td class="bb-num">{b.running || ''}</td>
                  <td class="bb-num">{b.pending || ''}</td>
                  <td>
                    <span class="bb-tagfilter">
                      {b.tags.map((t) => (
                        <Tag key={t} tag={t} active={tags.includes(t)} onClick={() => toggleTag(t)} />
                      ))}
                    </span>
                  </td>
                </tr>
              ))
            )}
          </tbody>
        </table>
      )}
    </div>
  );
}
