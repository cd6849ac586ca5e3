import { useMemo } from 'preact/hooks';
import type { PageProps } from '../routes';
import { useCollection } from '../api/live';
import { Link } from '../router';
import { DataTable, ErrorBox, Loadable, TimeAgo, type Column } from '../components';
import type { BuildRequest, Buildset } from '../views/types';
import { propText, shortRev } from '../views/format';
import { useBuilders, useById, useControl, useRefreshOn } from '../views/ui';
import '../views/others.css';

const SHOWN_PROPS = ['owner', 'scheduler', 'reason'];

// 3 calls: unclaimed requests (with the buildset's properties via `property=*`), incomplete
// buildsets (reason + sourcestamps of all shown requests in one query), builders.
export default function Page(_props: PageProps) {
  const reqs = useCollection<BuildRequest>('buildrequests', {
    claimed: false,
    complete: false,
    order: ['-priority', 'submitted_at'],
    property: '*',
  });
  const sets = useCollection<Buildset>('buildsets', { complete: false });
  const builders = useBuilders();
  const ctl = useControl();
  const setsById = useById(sets.items, (s) => s.bsid);
  // events carry `properties: null`: re-read once new requests arrived, to show them
  useRefreshOn('buildrequests/*/new', () => true, reqs.refresh, 800);

  const cancel = async (r: BuildRequest) => {
    if (await ctl.run(`cancel-${r.buildrequestid}`, `buildrequests/${r.buildrequestid}`, 'cancel', { reason: 'cancelled from the web UI' })) reqs.refresh();
  };

  const columns: Column<BuildRequest>[] = useMemo(
    () => [
      { key: 'id', title: '#', render: (r) => <Link to={`/buildrequests/${r.buildrequestid}`}>{r.buildrequestid}</Link> },
      {
        key: 'builder',
        title: 'Builder',
        render: (r) => <Link to={`/builders/${r.builderid}`}>{builders.map.get(r.builderid)?.name ?? `builder ${r.builderid}`}</Link>,
      },
      { key: 'prio', title: 'Priority', class: 'bb-num', render: (r) => r.priority },
      { key: 'sub', title: 'Submitted', render: (r) => <TimeAgo epoch={r.submitted_at} /> },
      {
        key: 'reason',
        title: 'Reason',
        render: (r) => <span class="bo-small">{setsById.get(r.buildsetid)?.reason ?? ''}</span>,
      },
      {
        key: 'src',
        title: 'Sources',
        render: (r) => (
          <span class="bo-small">
            {(setsById.get(r.buildsetid)?.sourcestamps ?? []).map((ss) => (
              <span key={ss.ssid} class="bo-nowrap" title={ss.repository}>
                {ss.codebase ? `${ss.codebase}: ` : ''}
                {ss.branch ?? 'default'} <span class="bo-rev">{shortRev(ss.revision) || 'HEAD'}</span>{' '}
              </span>
            ))}
          </span>
        ),
      },
      {
        key: 'props',
        title: 'Properties',
        render: (r) => (
          <span class="bo-small">
            {SHOWN_PROPS.filter((p) => r.properties?.[p]).map((p) => (
              <span key={p} class="bo-nowrap">
                {p}: {propText(r.properties![p][0])}{' '}
              </span>
            ))}
          </span>
        ),
      },
      {
        key: 'cancel',
        title: '',
        render: (r) => (
          <button class="bb-btn" data-testid={`cancel-${r.buildrequestid}`} disabled={ctl.busy === `cancel-${r.buildrequestid}`} onClick={() => cancel(r)}>
            Cancel
          </button>
        ),
      },
    ],
    [builders.map, setsById, ctl.busy],
  );

  return (
    <div class="bb-page">
      <ErrorBox error={ctl.error} />
      <ErrorBox error={sets.error} title="buildsets" />
      <Loadable loading={reqs.loading} error={reqs.error} hasData={reqs.items.length > 0}>
        <DataTable columns={columns} rows={reqs.items} rowKey={(r) => r.buildrequestid} empty="No pending build requests." data-testid="pending-table" />
      </Loadable>
    </div>
  );
}
