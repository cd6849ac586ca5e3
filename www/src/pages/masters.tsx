import type { PageProps } from '../routes';
import { useCollection } from '../api/live';
import { ErrorBox, Spinner, TimeAgo, formatDate } from '../components';

interface Master {
  masterid: number;
  name: string;
  active: boolean;
  last_active: number;
}

export default function MastersPage(_props: PageProps) {
  const masters = useCollection<Master>('masters', { order: 'name' });
  return (
    <div class="bb-page" data-testid="masters-page">
      <ErrorBox error={masters.error} />
      {masters.loading && !masters.items.length ? (
        <Spinner />
      ) : (
        <table class="bb-table" data-testid="masters-table">
          <thead>
            <tr>
              <th>Name</th>
              <th>State</th>
              <th>Last active</th>
            </tr>
          </thead>
          <tbody>
            {masters.items.length === 0 ? (
              <tr>
                <td colSpan={3} class="bb-empty">
                  No masters.
                </td>
              </tr>
            ) : (
              masters.items.map((m) => (
                <tr key={m.masterid} data-testid={`master-row-${m.masterid}`}>
                  <td>{m.name}</td>
                  <td>
                    <span class={`bb-badge ${m.active ? 'bb-result-success' : 'bb-result-pending'}`}>{m.active ? 'active' : 'inactive'}</span>
                  </td>
                  <td title={formatDate(m.last_active)}>
                    <TimeAgo epoch={m.last_active} />
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
