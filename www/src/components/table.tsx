import type { ComponentChildren, JSX } from 'preact';

/** Column definition for <DataTable>. */
export interface Column<T> {
  key: string;
  title: ComponentChildren;
  render: (row: T) => ComponentChildren;
  class?: string;
  width?: string;
}

/** A plain table: rows are rendered as is (fast for a few hundred rows, no per-row state). */
export function DataTable<T>(props: {
  columns: Column<T>[];
  rows: T[];
  rowKey: (row: T) => string | number;
  empty?: ComponentChildren;
  rowProps?: (row: T) => JSX.HTMLAttributes<HTMLTableRowElement>;
  'data-testid'?: string;
  class?: string;
}) {
  return (
    <table class={`bb-table ${props.class ?? ''}`} data-testid={props['data-testid']}>
      <thead>
        <tr>
          {props.columns.map((c) => (
            <th key={c.key} class={c.class} style={c.width ? { width: c.width } : undefined}>
              {c.title}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {props.rows.length === 0 ? (
          <tr>
            <td colSpan={props.columns.length} class="bb-empty">
              {props.empty ?? 'Nothing to show.'}
            </td>
          </tr>
        ) : (
          props.rows.map((r) => (
            <tr key={props.rowKey(r)} {...(props.rowProps ? props.rowProps(r) : {})}>
              {props.columns.map((c) => (
                <td key={c.key} class={c.class}>
                  {c.render(r)}
                </td>
              ))}
            </tr>
          ))
        )}
      </tbody>
    </table>
  );
}

/** Key/value table (properties, entity details). */
export function KeyValueTable(props: { rows: [ComponentChildren, ComponentChildren][]; 'data-testid'?: string }) {
  return (
    <table class="bb-table bb-kv" data-testid={props['data-testid']}>
      <tbody>
        {props.rows.map(([k, v], i) => (
          <tr key={i}>
            <th>{k}</th>
            <td>{v}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
