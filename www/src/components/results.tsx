export const SUCCESS = 0;
export const WARNINGS = 1;
export const FAILURE = 2;
export const SKIPPED = 3;
export const EXCEPTION = 4;
export const RETRY = 5;
export const CANCELLED = 6;

const NAMES = ['SUCCESS', 'WARNINGS', 'FAILURE', 'SKIPPED', 'EXCEPTION', 'RETRY', 'CANCELLED'];

/** `0` → `SUCCESS`; null/undefined/-1 → `RUNNING` or `PENDING`. */
export function resultsText(code: number | null | undefined, complete?: boolean): string {
  if (code === null || code === undefined || code < 0) return complete === false ? 'RUNNING' : complete ? 'UNKNOWN' : 'PENDING';
  return NAMES[code] ?? `RESULT ${code}`;
}

/** CSS class for a result code: `bb-result-success`, …, `bb-result-pending`. */
export function resultsClass(code: number | null | undefined, complete?: boolean): string {
  if (code === null || code === undefined || code < 0) return complete === false ? 'bb-result-running' : 'bb-result-pending';
  return 'bb-result-' + (NAMES[code] ?? 'unknown').toLowerCase();
}

export function ResultBadge(props: {
  results: number | null | undefined;
  complete?: boolean;
  text?: string;
  small?: boolean;
  title?: string;
  'data-testid'?: string;
}) {
  const { results, complete, small } = props;
  const text = props.text ?? resultsText(results, complete);
  return (
    <span
      class={`bb-badge ${resultsClass(results, complete)}${small ? ' bb-badge-small' : ''}`}
      title={props.title ?? text}
      data-testid={props['data-testid']}
      data-results={results ?? ''}
    >
      {small ? '' : text}
    </span>
  );
}
