import { useState } from 'preact/hooks';
import type { PageProps } from '../routes';
import { useCollection, useEntity } from '../api/live';
import { Link } from '../router';
import { Confirm, DataTable, Duration, ErrorBox, KeyValueTable, Loadable, ResultBadge, Spinner, TimeAgo, type Column } from '../components';
import type { Build, WorkerEntity } from '../views/types';
import { connectedMasters, workerBuilders, workerState } from '../views/workers';
import { Section, useBuilders, useControl, useMasters, useTitle } from '../views/ui';
import '../views/others.css';

type Action = 'stop' | 'kill' | 'pause' | 'unpause';
const ACTION_TEXT: Record<Action, string> = {
  stop: 'Graceful shutdown: the worker finishes its running builds, then disconnects.',
  kill: 'Kill: the worker disconnects now; its running builds are interrupted.',
  pause: 'Pause: the worker takes no new builds.',
  unpause: 'Unpause: the worker takes builds again.',
};

export default function Page(props: PageProps) {
  // the path may name the worker by id or by name (`/workers/{i:name}` is an API path too)
  const w = useEntity<WorkerEntity>(`workers/${encodeURIComponent(props.params.workerid)}`);
  const builders = useBuilders();
  const masters = useMasters();
  const ctl = useControl();
  const [ask, setAsk] = useState<Action | null>(null);
  const [reason, setReason] = useState('');
  useTitle(w.data ? `Worker ${w.data.name}` : null);

  if (!w.data) return <div class="bb-page">{w.loading ? <Spinner /> : <ErrorBox error={w.error ?? 'not found'} />}</div>;
  const worker = w.data;
  const doAction = async (a: Action) => {
    setAsk(null);
    if (await ctl.run(a, `workers/${worker.workerid}`, a, { reason: reason || 'no reason' })) w.refresh();
  };
  const info = Object.entries(worker.workerinfo ?? {}).filter(([, v]) => v !== null && v !== '');
  const conn = connectedMasters(worker, masters);

  return (
    <div class="bb-page">
      <Section
        title={
          <>
            <span class={`bo-dot ${workerState(worker)}`} />
            {worker.name}
          </>
        }
        right={
          <span class="bo-actions">
            <input type="text" placeholder="reason" value={reason} onInput={(e) => setReason(e.currentTarget.value)} data-testid="worker-action-reason" />
            {worker.paused ? (
              <button class="bb-btn" data-testid={`unpause-${worker.name}`} onClick={() => doAction('unpause')} disabled={!!ctl.busy}>
                Unpause
              </button>
            ) : (
              <button class="bb-btn" data-testid={`pause-${worker.name}`} onClick={() => doAction('pause')} disabled={!!ctl.busy}>
                Pause
              </button>
            )}
            <button class="bb-btn" data-testid="worker-stop" onClick={() => setAsk('stop')} disabled={!!ctl.busy || !conn.length}>
              Graceful shutdown
            </button>
            <button class="bb-btn bb-danger" data-testid="worker-kill" onClick={() => setAsk('kill')} disabled={!!ctl.busy || !conn.length}>
              Kill
            </button>
          </span>
        }
      >
        <ErrorBox error={ctl.error} />
        <KeyValueTable
          data-testid="worker-info"
          rows={[
            ['State', workerState(worker)],
            ['Connected to', conn.length ? conn.join(', ') : 'not connected'],
            ['Paused', worker.paused ? `yes${worker.pause_reason ? ` (${worker.pause_reason})` : ''}` : 'no'],
            ['Graceful shutdown', worker.graceful ? 'yes' : 'no'],
            ...(worker.latent_state ? [['Latent state', worker.latent_state] as [string, string]] : []),
            ...info.map(([k, v]) => [k, k === 'access_uri' && v ? <a href={v}>{v}</a> : <span style={{ whiteSpace: 'pre-wrap' }}>{v}</span>] as [string, any]),
            [
              'Builders',
              <span class="bo-list">
                {workerBuilders(worker, builders.map).map((b) => (
                  <Link key={b.builderid} to={`/builders/${b.builderid}`}>
                    {b.name}
                  </Link>
                ))}
              </span>,
            ],
          ]}
        />
      </Section>
      <WorkerBuilds workerid={worker.workerid} builders={builders.map} />
      {ask ? (
        <Confirm
          title={`${ask} ${worker.name}?`}
          message={ACTION_TEXT[ask]}
          confirmText={ask === 'kill' ? 'Kill' : 'Shut down'}
          danger={ask === 'kill'}
          onConfirm={() => doAction(ask)}
          onCancel={() => setAsk(null)}
        />
      ) : null}
    </div>
  );
}

function WorkerBuilds(props: { workerid: number; builders: Map<number, { name: string }> }) {
  // `workers/<id>/builds` is a collection of the API; its events are `workers/<id>/builds/<buildid>/<ev>`
  const builds = useCollection<Build>(`workers/${props.workerid}/builds`, { order: '-buildid', limit: 50 });
  const columns: Column<Build>[] = [
    {
      key: 'build',
      title: 'Build',
      render: (b) => (
        <Link to={`/builders/${b.builderid}/builds/${b.number}`}>
          {props.builders.get(b.builderid)?.name ?? `builder ${b.builderid}`} #{b.number}
        </Link>
      ),
    },
    { key: 'res', title: 'Result', render: (b) => <ResultBadge results={b.results} complete={b.complete} /> },
    { key: 'state', title: 'State', render: (b) => <span class="bo-small">{b.state_string}</span> },
    { key: 'start', title: 'Started', render: (b) => <TimeAgo epoch={b.started_at} /> },
    { key: 'dur', title: 'Duration', render: (b) => <Duration start={b.started_at} end={b.complete ? (b.complete_at ?? b.started_at) : null} /> },
  ];
  return (
    <Section title="Builds (latest 50)">
      <Loadable loading={builds.loading} error={builds.error} hasData={builds.items.length > 0}>
        <DataTable columns={columns} rows={builds.items} rowKey={(b) => b.buildid} empty="No builds on this worker." data-testid="worker-builds" />
      </Loadable>
    </Section>
  );
}
