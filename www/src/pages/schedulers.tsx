import type { PageProps } from '../routes';
import { useCollection } from '../api/live';
import { DataTable, ErrorBox, Loadable, type Column } from '../components';
import type { Scheduler } from '../views/types';
import { useControl } from '../views/ui';
import '../views/others.css';

// One call, live: `schedulers/<id>/updated` carries the entity after enable/disable.
export default function Page(_props: PageProps) {
  const scheds = useCollection<Scheduler>('schedulers', { order: 'name' });
  const ctl = useControl();
  const toggle = async (s: Scheduler) => {
    if (await ctl.run(`sched-${s.schedulerid}`, `schedulers/${s.schedulerid}`, 'enable', { enabled: !s.enabled })) scheds.refresh();
  };
  const columns: Column<Scheduler>[] = [
    { key: 'name', title: 'Name', render: (s) => s.name },
    {
      key: 'master',
      title: 'Master',
      render: (s) => (s.master ? <span class="bo-small">{s.master.name}</span> : <span class="bb-muted">not running</span>),
    },
    {
      key: 'enabled',
      title: 'Enabled',
      render: (s) => (
        <label class="bo-nowrap">
          <input
            type="checkbox"
            checked={s.enabled}
            disabled={ctl.busy === `sched-${s.schedulerid}`}
            onChange={() => toggle(s)}
            data-testid={`scheduler-toggle-${s.name}`}
            aria-label={`${s.enabled ? 'disable' : 'enable'} ${s.name}`}
          />{' '}
          {s.enabled ? 'enabled' : <strong>disabled</strong>}
        </label>
      ),
    },
  ];
  return (
    <div class="bb-page">
      <ErrorBox error={ctl.error} />
      <Loadable loading={scheds.loading} error={scheds.error} hasData={scheds.items.length > 0}>
        <DataTable columns={columns} rows={scheds.items} rowKey={(s) => s.schedulerid} empty="No schedulers." data-testid="schedulers-table" />
      </Loadable>
    </div>
  );
}
