// Log page: `/builders/:builderid/builds/:buildnumber/steps/:stepnumber/logs/:logslug`.
//
// REST calls: the log (by builder, build number, step number and slug), its step and builder
// (for the breadcrumbs), then `logs/<id>/contents` in chunks as the viewer scrolls. The log
// grows through `logs/<logid>/*` events (append carries the entity with its new num_lines).

import { useEffect, useMemo, useState } from 'preact/hooks';
import type { PageProps } from '../routes';
import { Link, setPageTitle, setQuery } from '../router';
import { apiUrl, getJson } from '../api/rest';
import { subscribe, useEntity, useReconnect } from '../api/live';
import { ErrorBox, ResultBadge, Spinner } from '../components';
import { LogViewer } from '../logviewer/LogViewer';
import type { Log, Step } from './build';
import '../logviewer/logviewer.css';
import '../logviewer/pages.css';

const fetcherFor = (logid: number) => (offset: number, limit: number) =>
  getJson(`logs/${logid}/contents`, { offset, limit }).then((b) => (b?.logchunks?.[0]?.content as string) ?? '');

export default function Page(props: PageProps) {
  const { builderid, buildnumber, stepnumber, logslug } = props.params;
  const buildPath = `builders/${builderid}/builds/${buildnumber}`;
  const logApiPath = `${buildPath}/steps/${stepnumber}/logs/${encodeURIComponent(logslug)}`;
  const [log, setLog] = useState<Log | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [gen, setGen] = useState(0);
  const step = useEntity<Step>(`${buildPath}/steps/${stepnumber}`, { live: false });
  const builder = useEntity<{ builderid: number; name: string }>(`builders/${builderid}`, { live: false });

  useEffect(() => {
    let alive = true;
    getJson(logApiPath).then(
      (b) => {
        if (!alive) return;
        const l = b?.logs?.[0];
        if (l) {
          setLog((cur) => (cur && cur.logid === l.logid && cur.num_lines > l.num_lines ? cur : l));
          setError(null);
        } else setError('not found');
      },
      (e: Error) => alive && setError(e.message),
    );
    return () => {
      alive = false;
    };
  }, [logApiPath, gen]);
  useReconnect(() => setGen((g) => g + 1), []);

  const logid = log?.logid;
  useEffect(() => {
    if (logid === undefined) return;
    return subscribe(`logs/${logid}/*`, (_k, msg) => {
      if (!msg || typeof msg !== 'object' || msg.logid !== logid) return;
      setLog((cur) => (cur ? { ...cur, ...msg, num_lines: Math.max(cur.num_lines, msg.num_lines ?? 0) } : msg));
    });
  }, [logid]);

  const fetcher = useMemo(() => (logid !== undefined ? fetcherFor(logid) : null), [logid]);
  const title = `${builder.data?.name ?? `builder ${builderid}`} #${buildnumber} · ${step.data?.name ?? `step ${stepnumber}`} · ${log?.name ?? logslug}`;
  useEffect(() => setPageTitle(title), [title]);

  const lineParam = Number(props.query.line);
  const initialLine = Number.isFinite(lineParam) && lineParam > 0 ? lineParam - 1 : undefined;
  const [selected, setSelected] = useState<number | null>(initialLine ?? null);

  if (error && !log) {
    return (
      <div class="bb-page">
        <ErrorBox error={/not found/i.test(error) ? `There is no log "${logslug}" in step ${stepnumber} of build #${buildnumber}.` : error} />
      </div>
    );
  }
  return (
    <div class="bb-page lp-page" data-testid="log-page">
      <div class="lp-head">
        <nav class="lp-crumbs">
          <Link to={`/builders/${builderid}`}>{builder.data?.name ?? `builder ${builderid}`}</Link>
          <span class="sep">/</span>
          <Link to={`/builders/${builderid}/builds/${buildnumber}`}>build #{buildnumber}</Link>
          <span class="sep">/</span>
          <span>
            {step.data ? (
              <>
                <ResultBadge results={step.data.results} complete={step.data.complete ? true : step.data.started_at ? false : undefined} small />{' '}
                {step.data.name}
              </>
            ) : (
              `step ${stepnumber}`
            )}
          </span>
          <span class="sep">/</span>
          <strong>{log?.name ?? logslug}</strong>
        </nav>
      </div>
      {!log || !fetcher ? (
        <Spinner text="Loading log…" />
      ) : (
        <LogViewer
          logKey={log.logid}
          logType={log.type}
          numLines={log.num_lines}
          complete={log.complete}
          fetchLines={fetcher}
          rawUrl={apiUrl(`logs/${log.logid}/raw`)}
          rawInlineUrl={apiUrl(`logs/${log.logid}/raw_inline`)}
          initialLine={initialLine}
          selectedLine={selected}
          onSelectLine={(n) => {
            setSelected(n);
            setQuery({ line: n + 1 });
          }}
        />
      )}
    </div>
  );
}
