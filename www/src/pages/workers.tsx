import { useMemo, useState } from 'preact/hooks';
import type { PageProps } from '../routes';
import { useCollection } from '../api/live';
import { Link } from '../router';
import { BuildLink, DataTable, ErrorBox, Loadable, type Column } from '../components';
import type { Build, WorkerEntity } from '../views/types';
import { connectedMasters, groupBuildsByWorker, workerBuilders, workerState } from '../views/workers';
import { BuildChips, useBuilders, useControl, useMasters } from '../views/ui';
import '../views/others.css';

// 5 REST calls in all: workers, running builds, recent builds, builders, masters.
// All are live: worker events (connected/disconnected/state_updated) carry the full entity.
export default function Page(_props: PageProps) {
  const workers = useCollection<WorkerEntity>('workers', { order: 'name' });
  const running = useCollection<Build>('builds', { complete: false });
  const recent = useCollection<Build>('builds', { complete: true, order: '-buildid', limit: 300 });
  const builders = useBuilders();
  const masters = useMasters();
  const ctl = useControl();
  const [reason, setReason] = useState('');
  const [search, setSearch] = useState('');
  const [onlyConnected, setOnlyConnected] = useState(false);

  const runningBy = useMemo(() => groupBuildsByWorker(running.items), [running.items]);
  const recentBy = useMemo(() => groupBuildsByWorker(recent.items), [recent.items]);
  const hasLatent = workers.items.some((w) => w.latent_state !== undefined && w.latent_state !== null);
  const rows = workers.items.filter(
    (w) => (!search || w.name.toLowerCase().includes(search.toLowerCase())) && (!onlyConnected || w.connected_to?.length),
  );

  const act = async (w: WorkerEntity, method: 'pause' | 'unpause') => {
    if (await ctl.run(`${method}-${w.workerid}`, `workers/${w.workerid}`, method, { reason: reason || 'no reason' })) workers.refresh();
  };

  const columns: Column<WorkerEntity>[] = [
    {
      key: 'name',
      title: 'Name',
      render: (w) => (
        <span class="bo-nowrap">
          <span class={`bo-dot ${workerState(w)}`} title={workerState(w)} />
          <Link to={`/workers/${w.workerid}`}>{w.name}</Link>
        </span>
      ),
    },
    {
      key: 'conn',
      title: 'Connected to',
      render: (w) => {
        const names = connectedMasters(w, masters);
        return names.length ? <span class="bo-small">{names.join(', ')}</span> : <span class="bb-muted">not connected</span>;
      },
    },
    {
      key: 'state',
      title: 'State',
      render: (w) => (
        <span class="bo-small" data-testid={`worker-state-${w.name}`}>
          {w.paused ? <strong>paused{w.pause_reason ? `: ${w.pause_reason}` : ''}</strong> : null}
          {w.graceful ? <span> graceful shutdown</span> : null}
          {!w.paused && !w.graceful ? <span class="bb-muted">active</span> : null}
        </span>
      ),
    },
    ...(hasLatent
      ? [{ key: 'latent', title: 'Latent', render: (w: WorkerEntity) => <span class="bo-small">{w.latent_state ?? ''}</span> }]
      : []),
    {
      key: 'running',
      title: 'Running',
      render: (w) => (
        <span class="bo-list">
          {(runningBy.get(w.workerid) ?? []).map((b) => (
            <BuildLink key={b.buildid} build={b} builder={builders.map.get(b.builderid)} />
          ))}
        </span>
      ),
    },
    { key: 'recent', title: 'Recent', render: (w) => <BuildChips builds={(recentBy.get(w.workerid) ?? []).slice(0, 6)} builders={builders.map} /> },
    {
      key: 'builders',
      title: 'Builders',
      render: (w) => {
        const list = workerBuilders(w, builders.map);
        return (
          <span class="bo-list bo-small" title={list.map((b) => b.name).join(', ')}>
            {list.slice(0, 5).map((b) => (
              <Link key={b.builderid} to={`/builders/${b.builderid}`}>
                {b.name}
              </Link>
            ))}
            {list.length > 5 ? <span class="bb-muted">+{list.length - 5}</span> : null}
          </span>
        );
      },
    },
    {
      key: 'actions',
      title: '',
      render: (w) =>
        w.paused ? (
          <button class="bb-btn" data-testid={`unpause-${w.name}`} disabled={ctl.busy !== null} onClick={() => act(w, 'unpause')}>
            Unpause
          </button>
        ) : (
          <button class="bb-btn" data-testid={`pause-${w.name}`} disabled={ctl.busy !== null} onClick={() => act(w, 'pause')}>
            Pause
          </button>
        ),
    },
  ];

  return (
    <div class="bb-page">
      <div class="bb-toolbar">
        <input class="bb-search" type="search" placeholder="Filter by name" value={search} onInput={(e) => setSearch(e.currentTarget.value)} />
        <label class="bo-small">
          <input type="checkbox" checked={onlyConnected} onChange={(e) => setOnlyConnected(e.currentTarget.checked)} /> connected only
        </label>
        <span class="bb-grow" />
        <input
          type="text"
          placeholder="Reason for pause/unpause"
          value={reason}
          onInput={(e) => setReason(e.currentTarget.value)}
          data-testid="worker-action-reason"
        />
      </div>
      <ErrorBox error={ctl.error} />
      <ErrorBox error={running.error || recent.error} title="builds" />
      <Loadable loading={workers.loading} error={workers.error} hasData={workers.items.length > 0}>
        <DataTable columns={columns} rows={rows} rowKey={(w) => w.workerid} empty="No workers." data-testid="workers-table" />
        <p class="bb-muted bo-small">
          {rows.length} of {workers.items.length} workers, {running.items.length} builds running
        </p>
      </Loadable>
    </div>
  );
}
