import { useEffect, useState } from 'preact/hooks';
import type { PageProps } from '../routes';
import { Link, setPageTitle, setQuery } from '../router';
import { useCollection, useEntity } from '../api/live';
import type { Build } from '../api/builders';
import { Duration, ErrorBox, Pager, ResultBadge, Spinner, Tag, TimeAgo, formatDate } from '../components';
import { ForceDialog, type ForceScheduler } from '../components/forcedialog';

const PAGE = 20;

interface Builder {
  builderid: number;
  name: string;
  description?: string | null;
  description_html?: string | null;
  tags: string[];
  masterids: number[];
}

export default function BuilderPage(props: PageProps) {
  const id = props.params.builderid;
  const offset = Math.max(0, Number(props.query.offset || 0) || 0);
  const builder = useEntity<Builder>(`builders/${id}`);
  const b = builder.data;
  const builds = useCollection<Build>(`builders/${id}/builds`, { order: '-number', limit: PAGE, offset });
  const forceschedulers = useCollection<ForceScheduler>('forceschedulers', undefined, { live: false });
  const workers = useCollection<any>(`builders/${id}/workers`);
  const pending = useCollection<any>(`builders/${id}/buildrequests`, { complete: false, claimed: false });
  const [forcing, setForcing] = useState<ForceScheduler | null>(null);

  useEffect(() => {
    if (b?.name) setPageTitle(`Builder ${b.name}`);
  }, [b?.name]);

  if (builder.error && !b) return <ErrorBox error={builder.error} title={`Builder ${id}`} />;
  if (!b) return <Spinner />;
  const mine = forceschedulers.items.filter((f) => f.builder_names.includes(b.name));
  const builderid = b.builderid;

  return (
    <div class="bb-page" data-testid="builder-page">
      <section class="bb-section">
        <div class="bb-toolbar">
          <h2 class="bb-grow" data-testid="builder-name">
            {b.name}
          </h2>
          {mine.map((f) => (
            <button
              key={f.name}
              class="bb-btn bb-primary"
              data-testid="force-button"
              data-scheduler={f.name}
              disabled={f.enabled === false}
              onClick={() => setForcing(f)}
            >
              {f.button_name || f.label || f.name}
            </button>
          ))}
        </div>
        {b.description_html ? (
          <div class="bb-description" dangerouslySetInnerHTML={{ __html: b.description_html }} />
        ) : b.description ? (
          <p class="bb-description">{b.description}</p>
        ) : null}
        <div class="bb-toolbar">
          {b.tags.length ? (
            <>
              <span class="bb-muted">Tags:</span>
              {b.tags.map((t) => (
                <Link key={t} to={`/builders?tags=${encodeURIComponent(t)}`} class="bb-tag">
                  {t}
                </Link>
              ))}
            </>
          ) : null}
          <span class="bb-muted">Workers:</span>
          {workers.items.length ? (
            workers.items.map((w) => (
              <Link key={w.workerid} to={`/workers/${w.workerid}`} class={`bb-worker-chip${w.connected_to?.length ? ' bb-connected' : ''}`}>
                {w.name}
              </Link>
            ))
          ) : (
            <span class="bb-muted">{workers.loading ? '…' : 'none'}</span>
          )}
          {pending.items.length ? (
            <Link to="/pendingbuildrequests" class="bb-muted" data-testid="builder-pending">
              {pending.items.length} pending request{pending.items.length === 1 ? '' : 's'}
            </Link>
          ) : null}
        </div>
        {!b.masterids.length ? <p class="bb-muted">This builder is not active on any master.</p> : null}
      </section>

      <section class="bb-section">
        <h2>Builds</h2>
        <ErrorBox error={builds.error} />
        {builds.loading && !builds.items.length ? (
          <Spinner />
        ) : (
          <table class="bb-table" data-testid="builder-builds">
            <thead>
              <tr>
                <th>#</th>
                <th>Result</th>
                <th>Status</th>
                <th>Started</th>
                <th>Duration</th>
                <th>Worker</th>
              </tr>
            </thead>
            <tbody>
              {builds.items.length === 0 ? (
                <tr>
                  <td colSpan={6} class="bb-empty">
                    No builds yet.
                  </td>
                </tr>
              ) : (
                builds.items.map((x) => (
                  <tr key={x.buildid} data-testid={`build-row-${x.number}`}>
                    <td>
                      <Link to={`/builders/${builderid}/builds/${x.number}`}>#{x.number}</Link>
                    </td>
                    <td>
                      <ResultBadge results={x.results} complete={x.complete} />
                    </td>
                    <td class="bb-muted">{x.state_string}</td>
                    <td title={formatDate(x.started_at)}>
                      <TimeAgo epoch={x.started_at} />
                    </td>
                    <td>
                      <Duration start={x.started_at} end={x.complete ? x.complete_at : null} />
                    </td>
                    <td>
                      {x.workerid ? (
                        <Link to={`/workers/${x.workerid}`}>{workers.items.find((w) => w.workerid === x.workerid)?.name ?? `worker ${x.workerid}`}</Link>
                      ) : null}
                    </td>
                  </tr>
                ))
              )}
            </tbody>
          </table>
        )}
        <Pager
          total={null}
          count={builds.items.length}
          limit={PAGE}
          offset={offset}
          onPage={(o) => setQuery({ offset: o || '' }, false)}
        />
      </section>
      {forcing ? <ForceDialog scheduler={forcing} builderid={builderid} onClose={() => setForcing(null)} /> : null}
    </div>
  );
}
