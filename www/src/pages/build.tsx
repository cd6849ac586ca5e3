// Build page: `/builders/:builderid/builds/:buildnumber`.
//
// REST calls: the build (by builder + number), then its steps, properties, changes and the
// builder's newest build number (for the "next" link) — five in all. Logs are fetched per
// step only when a step is expanded (the running step and the first failed one by default).
// Everything else arrives over the WebSocket.

import { useEffect, useMemo, useState } from 'preact/hooks';
import type { ComponentChildren } from 'preact';
import type { PageProps } from '../routes';
import { Link, navigate, setPageTitle } from '../router';
import { ApiError, apiUrl, control, getJson } from '../api/rest';
import { subscribe, useCollection, useEntity, useReconnect } from '../api/live';
import { Avatar, Duration, ErrorBox, ResultBadge, Spinner, TimeAgo, formatDate, resultsClass } from '../components';
import { LogTail, useLiveNumLines } from '../logviewer/LogTail';
import {
  defaultExpanded,
  isRunning,
  logPath,
  mergeProperties,
  parseAuthor,
  propertyText,
  responsibleUsers,
  safeUrl,
} from '../logviewer/buildinfo';
import '../logviewer/logviewer.css';
import '../logviewer/pages.css';

export interface Build {
  buildid: number;
  number: number;
  builderid: number;
  buildrequestid: number;
  workerid: number;
  masterid: number;
  started_at: number;
  complete: boolean;
  complete_at: number | null;
  results: number | null;
  state_string: string;
  locks_duration_s?: number;
}

export interface Step {
  stepid: number;
  number: number;
  name: string;
  buildid: number;
  started_at: number | null;
  complete: boolean;
  complete_at: number | null;
  results: number | null;
  state_string: string;
  urls: { name: string; url: string }[];
  hidden: boolean;
}

export interface Log {
  logid: number;
  name: string;
  slug: string;
  stepid: number;
  complete: boolean;
  num_lines: number;
  type: string;
}

interface Change {
  changeid: number;
  author: string;
  committer?: string | null;
  comments: string;
  revision: string | null;
  revlink: string | null;
  branch: string | null;
  repository: string;
  project: string;
  codebase: string;
  files: string[];
  when_timestamp: number;
}

type Props = Record<string, [unknown, string]>;

/** Human text of a control failure (403 → permission). */
export function controlErrorText(e: unknown, action: string): string {
  if (e instanceof ApiError) {
    if (e.status === 403) return `You are not allowed to ${action} this build: ${e.message}`;
    if (e.status === 401) return `Log in to ${action} this build.`;
    return `Could not ${action} the build (${e.status}): ${e.message}`;
  }
  return `Could not ${action} the build: ${(e as Error)?.message ?? String(e)}`;
}

export const logFetcher = (logid: number) => (offset: number, limit: number) =>
  getJson(`logs/${logid}/contents`, { offset, limit }).then((b) => (b?.logchunks?.[0]?.content as string) ?? '');

// --------------------------------------------------------------------------------------

function StepLogs(props: { step: Step; builderid: number; buildnumber: number; preview: boolean }) {
  const { step } = props;
  const logs = useCollection<Log>(`steps/${step.stepid}/logs`, undefined, { idKey: 'logid' });
  const items = logs.items;
  const previewLog = props.preview ? (items.find((l) => l.type === 's') ?? items.find((l) => l.type === 't')) : undefined;
  const fetcher = useMemo(() => (previewLog ? logFetcher(previewLog.logid) : null), [previewLog?.logid]);
  const previewLines = useLiveNumLines(previewLog?.logid, previewLog?.num_lines ?? 0);
  const linesOf = (l: Log) => (previewLog && l.logid === previewLog.logid ? previewLines : l.num_lines);
  if (logs.loading && !items.length) return <Spinner text="Loading logs…" />;
  return (
    <div class="bp-step-body">
      {logs.error && <ErrorBox error={logs.error} />}
      {items.length === 0 ? (
        <span class="bb-muted">No logs.</span>
      ) : (
        <ul class="bp-logs">
          {items.map((l) => (
            <li key={l.logid}>
              <Link to={logPath(props.builderid, props.buildnumber, step.number, l.slug)} data-testid={`log-link-${step.number}-${l.slug}`}>
                {l.name}
              </Link>{' '}
              <span class="bb-muted">
                {linesOf(l).toLocaleString()} lines{l.complete ? '' : ' …'}
              </span>{' '}
              <a class="bp-raw" href={apiUrl(`logs/${l.logid}/raw`)} download title="Download">
                ⤓
              </a>
            </li>
          ))}
        </ul>
      )}
      {previewLog && fetcher && <LogTail numLines={previewLines} logType={previewLog.type} fetchLines={fetcher} />}
    </div>
  );
}

function StepRow(props: { step: Step; build: Build; expanded: boolean; onToggle: () => void }) {
  const { step, build, expanded } = props;
  const running = isRunning(step);
  const notStarted = !step.complete && !running;
  return (
    <div
      class={`bp-step ${resultsClass(step.results, running ? false : step.complete ? true : undefined)}${expanded ? ' expanded' : ''}`}
      data-testid={`step-${step.number}`}
      data-results={step.results ?? ''}
      data-complete={String(step.complete)}
    >
      <div class="bp-step-head" onClick={props.onToggle} role="button" aria-expanded={expanded} tabIndex={0}
        onKeyDown={(e) => (e.key === 'Enter' || e.key === ' ') && (e.preventDefault(), props.onToggle())}>
        <span class="bp-chevron">{expanded ? '▾' : '▸'}</span>
        <span class="bp-step-num">{step.number + 1}</span>
        <span class="bp-step-name">{step.name}</span>
        <span class="bp-step-state" data-testid={`step-state-${step.number}`}>
          {step.state_string}
        </span>
        <span class="bp-step-urls" onClick={(e) => e.stopPropagation()}>
          {step.urls.map((u, i) => {
            const href = safeUrl(u.url);
            return href ? (
              <a key={i} href={href} target="_blank" rel="noopener noreferrer" class="bp-url">
                {u.name}
              </a>
            ) : (
              <span key={i} class="bp-url">{u.name}</span>
            );
          })}
        </span>
        <span class="bp-step-dur">{notStarted ? '' : <Duration start={step.started_at} end={step.complete ? (step.complete_at ?? step.started_at) : null} />}</span>
      </div>
      {expanded && <StepLogs step={step} builderid={build.builderid} buildnumber={build.number} preview={running} />}
    </div>
  );
}

function Steps(props: { build: Build }) {
  const { build } = props;
  const steps = useCollection<Step>(`builds/${build.buildid}/steps`);
  const [overrides, setOverrides] = useState<Map<number, boolean>>(new Map());
  const [showHidden, setShowHidden] = useState(false);
  const sorted = useMemo(() => steps.items.slice().sort((a, b) => a.number - b.number), [steps.items]);
  const defaults = useMemo(() => defaultExpanded(sorted), [sorted]);
  const hiddenCount = sorted.filter((s) => s.hidden).length;
  const shown = showHidden ? sorted : sorted.filter((s) => !s.hidden);
  if (steps.loading && !sorted.length) return <Spinner text="Loading steps…" />;
  const isExpanded = (s: Step) => overrides.get(s.stepid) ?? defaults.has(s.stepid);
  const toggle = (s: Step) => setOverrides(new Map(overrides).set(s.stepid, !isExpanded(s)));
  return (
    <div class="bp-steps" data-testid="steps">
      {steps.error && <ErrorBox error={steps.error} />}
      {shown.length === 0 && <p class="bb-empty">{build.complete ? 'This build has no steps.' : 'No steps yet.'}</p>}
      {shown.map((s) => (
        <StepRow key={s.stepid} step={s} build={build} expanded={isExpanded(s)} onToggle={() => toggle(s)} />
      ))}
      <div class="bb-toolbar bp-steps-foot">
        {hiddenCount > 0 && (
          <button class="bb-link-btn" onClick={() => setShowHidden(!showHidden)}>
            {showHidden ? 'Hide' : 'Show'} {hiddenCount} hidden step{hiddenCount === 1 ? '' : 's'}
          </button>
        )}
        <button class="bb-link-btn" onClick={() => setOverrides(new Map(shown.map((s) => [s.stepid, true])))}>
          Expand all
        </button>
        <button class="bb-link-btn" onClick={() => setOverrides(new Map(shown.map((s) => [s.stepid, false])))}>
          Collapse all
        </button>
      </div>
    </div>
  );
}

function PropertiesTable(props: { properties: Props | null; error: string | null }) {
  if (props.error) return <ErrorBox error={props.error} />;
  if (!props.properties) return <Spinner />;
  const names = Object.keys(props.properties).sort();
  if (!names.length) return <p class="bb-empty">No properties.</p>;
  return (
    <table class="bb-table bp-props" data-testid="properties">
      <thead>
        <tr>
          <th>Name</th>
          <th>Value</th>
          <th>Source</th>
        </tr>
      </thead>
      <tbody>
        {names.map((n) => {
          const [v, src] = props.properties![n];
          return (
            <tr key={n} data-prop={n}>
              <td class="bp-prop-name">{n}</td>
              <td class="bp-prop-value">
                <code>{propertyText(v)}</code>
              </td>
              <td class="bb-muted">{src}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

function ChangesList(props: { changes: Change[]; loading: boolean; error: string | null }) {
  if (props.error) return <ErrorBox error={props.error} />;
  if (props.loading && !props.changes.length) return <Spinner />;
  if (!props.changes.length) return <p class="bb-empty">No changes (forced or rebuilt build).</p>;
  return (
    <div class="bp-changes" data-testid="changes">
      {props.changes.map((c) => {
        const who = parseAuthor(c.author);
        const rev = c.revision ? c.revision.slice(0, 12) : null;
        const link = safeUrl(c.revlink);
        return (
          <div class="bp-change" key={c.changeid}>
            <div class="bp-change-head">
              <Avatar email={who.email} name={who.name} size={20} />
              <strong title={c.author}>{who.name}</strong>
              <Link to={`/changes/${c.changeid}`}>change {c.changeid}</Link>
              {rev &&
                (link ? (
                  <a href={link} target="_blank" rel="noopener noreferrer" class="bb-mono" title={c.revision ?? ''}>
                    {rev}
                  </a>
                ) : (
                  <span class="bb-mono" title={c.revision ?? ''}>{rev}</span>
                ))}
              {c.branch && <span class="bb-tag">{c.branch}</span>}
              <span class="bb-muted">{c.repository || c.project}</span>
              <span class="bb-grow" />
              <TimeAgo epoch={c.when_timestamp} />
            </div>
            <pre class="bp-comments">{c.comments}</pre>
            {c.files.length > 0 && (
              <details class="bp-files">
                <summary>
                  {c.files.length} file{c.files.length === 1 ? '' : 's'}
                </summary>
                <ul>
                  {c.files.map((f) => (
                    <li key={f} class="bb-mono">
                      {f}
                    </li>
                  ))}
                </ul>
              </details>
            )}
          </div>
        );
      })}
    </div>
  );
}

function Responsible(props: { changes: Change[]; properties: Props | null }) {
  const people = responsibleUsers(props.changes, props.properties);
  if (!people.length) return <p class="bb-empty">Nobody (no changes and no owner).</p>;
  return (
    <ul class="bp-people" data-testid="responsible">
      {people.map((p) => (
        <li key={p.email ?? p.name}>
          <Avatar email={p.email} name={p.name} size={28} />
          <span>
            <strong>{p.name}</strong>
            {p.email && p.email !== p.name && (
              <>
                {' '}
                <a href={`mailto:${p.email}`} class="bb-muted">
                  {p.email}
                </a>
              </>
            )}
            <span class="bb-muted"> · {p.roles.join(', ')}</span>
          </span>
        </li>
      ))}
    </ul>
  );
}

function WorkerInfo(props: { workerid: number }) {
  const w = useEntity<any>(`workers/${props.workerid}`);
  if (w.error && !w.data) return <ErrorBox error={w.error} />;
  if (!w.data) return <Spinner />;
  const wk = w.data;
  const info: Record<string, unknown> = wk.workerinfo ?? {};
  return (
    <table class="bb-table bb-kv" data-testid="worker-info">
      <tbody>
        <tr>
          <th>Name</th>
          <td>
            <Link to={`/workers/${wk.workerid}`}>{wk.name}</Link>
          </td>
        </tr>
        <tr>
          <th>State</th>
          <td>
            {wk.connected_to?.length ? 'connected' : 'disconnected'}
            {wk.paused ? ', paused' : ''}
            {wk.graceful ? ', shutting down' : ''}
          </td>
        </tr>
        {Object.keys(info)
          .sort()
          .map((k) => (
            <tr key={k}>
              <th>{k}</th>
              <td>
                <pre class="bp-info">{propertyText(info[k] ?? '')}</pre>
              </td>
            </tr>
          ))}
      </tbody>
    </table>
  );
}

// --------------------------------------------------------------------------------------

function Controls(props: { build: Build }) {
  const { build } = props;
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [reason, setReason] = useState('');
  useEffect(() => setError(null), [build.complete]);

  const stop = async () => {
    setBusy('stop');
    setError(null);
    try {
      await control(`builds/${build.buildid}`, 'stop', { reason: reason.trim() || 'stopped from the web UI' });
    } catch (e) {
      setError(controlErrorText(e, 'stop'));
    } finally {
      setBusy(null);
    }
  };
  const rebuild = async () => {
    setBusy('rebuild');
    setError(null);
    try {
      const res = await control(`builds/${build.buildid}`, 'rebuild', {});
      const brids = Array.isArray(res) ? res[1] : null;
      const brid = brids && typeof brids === 'object' ? Object.values(brids)[0] : null;
      if (brid !== null && brid !== undefined) navigate(`/buildrequests/${brid}`);
    } catch (e) {
      setError(controlErrorText(e, 'rebuild'));
    } finally {
      setBusy(null);
    }
  };
  return (
    <div class="bp-controls">
      {!build.complete && (
        <>
          <input
            class="bp-reason"
            placeholder="Reason (optional)"
            value={reason}
            onInput={(e) => setReason((e.target as HTMLInputElement).value)}
            aria-label="Stop reason"
          />
          <button class="bb-btn bb-danger" disabled={!!busy} onClick={stop} data-testid="stop-button">
            {busy === 'stop' ? 'Stopping…' : 'Stop'}
          </button>
        </>
      )}
      {build.complete && (
        <button class="bb-btn bb-primary" disabled={!!busy} onClick={rebuild} data-testid="rebuild-button">
          {busy === 'rebuild' ? 'Rebuilding…' : 'Rebuild'}
        </button>
      )}
      {error && (
        <div class="bp-control-error" data-testid="control-error">
          <ErrorBox error={error} />
        </div>
      )}
    </div>
  );
}

function Field(props: { label: string; children: ComponentChildren }) {
  return (
    <div class="bp-field">
      <span class="bp-label">{props.label}</span>
      <span>{props.children}</span>
    </div>
  );
}

type Tab = 'steps' | 'properties' | 'changes' | 'responsible' | 'worker';
const TABS: [Tab, string][] = [
  ['steps', 'Steps'],
  ['properties', 'Properties'],
  ['changes', 'Changes'],
  ['responsible', 'Responsible users'],
  ['worker', 'Worker'],
];

function BuildView(props: { build: Build; tab: Tab; onTab: (t: Tab) => void }) {
  const { build } = props;
  const id = build.buildid;

  // properties: one fetch, then the `properties/update` events (changed ones only)
  const [properties, setProperties] = useState<Props | null>(null);
  const [propError, setPropError] = useState<string | null>(null);
  const [propGen, setPropGen] = useState(0);
  useEffect(() => {
    let alive = true;
    const unsub = subscribe(`builds/${id}/properties/*`, (_k, msg) => setProperties((cur) => mergeProperties(cur, msg)));
    getJson(`builds/${id}/properties`).then(
      (b) => alive && (setProperties((cur) => ({ ...(b?.properties?.[0] ?? {}), ...(cur ?? {}) })), setPropError(null)),
      (e: Error) => alive && setPropError(e.message),
    );
    return () => {
      alive = false;
      unsub();
    };
  }, [id, propGen]);
  useReconnect(() => setPropGen((g) => g + 1), []);

  const changes = useCollection<Change>(`builds/${id}/changes`, undefined, { live: false });
  const newest = useCollection<Build>(`builders/${build.builderid}/builds`, { order: '-number', limit: 1 });
  const lastNumber = newest.items[0]?.number ?? build.number;

  const buildername = properties?.buildername?.[0];
  const workername = properties?.workername?.[0];
  const reason = properties?.reason?.[0];
  const title = `${typeof buildername === 'string' ? buildername : `builder ${build.builderid}`} #${build.number}`;
  useEffect(() => setPageTitle(title), [title]);

  return (
    <div class="bb-page bp-page" data-testid="build-page" data-buildid={id}>
      <section class="bb-section bp-header">
        <div class="bp-title-row">
          <ResultBadge results={build.results} complete={build.complete} data-testid="build-result" />
          <h2 class="bp-title">
            <Link to={`/builders/${build.builderid}`}>{typeof buildername === 'string' ? buildername : `builder ${build.builderid}`}</Link>{' '}
            #{build.number}
          </h2>
          <span class="bp-state" data-testid="build-state">
            {build.state_string}
          </span>
          <span class="bb-grow" />
          <nav class="bp-nav">
            {build.number > 1 ? (
              <Link to={`/builders/${build.builderid}/builds/${build.number - 1}`} data-testid="prev-build" class="bb-btn">
                ‹ #{build.number - 1}
              </Link>
            ) : (
              <span class="bb-btn" aria-disabled="true">‹ prev</span>
            )}
            {lastNumber > build.number ? (
              <Link to={`/builders/${build.builderid}/builds/${build.number + 1}`} data-testid="next-build" class="bb-btn">
                #{build.number + 1} ›
              </Link>
            ) : (
              <span class="bb-btn" aria-disabled="true">next ›</span>
            )}
          </nav>
        </div>
        <div class="bp-fields">
          <Field label="Started">
            <span title={formatDate(build.started_at)}>
              <TimeAgo epoch={build.started_at} />
            </span>
          </Field>
          <Field label="Finished">{build.complete_at ? <TimeAgo epoch={build.complete_at} /> : <span class="bb-muted">running</span>}</Field>
          <Field label="Duration">
            <Duration start={build.started_at} end={build.complete ? (build.complete_at ?? build.started_at) : null} />
          </Field>
          <Field label="Worker">
            <Link to={`/workers/${build.workerid}`}>{typeof workername === 'string' ? workername : `worker ${build.workerid}`}</Link>
          </Field>
          <Field label="Build request">
            <Link to={`/buildrequests/${build.buildrequestid}`}>#{build.buildrequestid}</Link>
          </Field>
          {typeof reason === 'string' && reason ? <Field label="Reason">{reason}</Field> : null}
          {build.locks_duration_s ? <Field label="Waited for locks">{build.locks_duration_s}s</Field> : null}
        </div>
        <Controls build={build} />
      </section>

      <div class="bb-tabs" role="tablist">
        {TABS.map(([t, label]) => (
          <button
            key={t}
            role="tab"
            aria-selected={props.tab === t}
            class={`bb-tab${props.tab === t ? ' active' : ''}`}
            onClick={() => props.onTab(t)}
            data-testid={`tab-${t}`}
          >
            {label}
            {t === 'changes' && changes.items.length ? ` (${changes.items.length})` : ''}
          </button>
        ))}
      </div>
      <section class="bb-section bp-tab-body">
        {props.tab === 'steps' && <Steps build={build} />}
        {props.tab === 'properties' && <PropertiesTable properties={properties} error={propError} />}
        {props.tab === 'changes' && <ChangesList changes={changes.items} loading={changes.loading} error={changes.error} />}
        {props.tab === 'responsible' && <Responsible changes={changes.items} properties={properties} />}
        {props.tab === 'worker' && <WorkerInfo workerid={build.workerid} />}
      </section>
    </div>
  );
}

export default function Page(props: PageProps) {
  const { builderid, buildnumber } = props.params;
  const b = useEntity<Build>(`builders/${builderid}/builds/${buildnumber}`);
  const [tab, setTab] = useState<Tab>(((TABS.find(([t]) => t === props.query.tab) ?? TABS[0])[0]) as Tab);
  if (!b.data) {
    if (b.error) {
      return (
        <div class="bb-page">
          <ErrorBox error={b.error === 'not found' || /not found/i.test(b.error) ? `Build #${buildnumber} of builder ${builderid} does not exist.` : b.error} />
        </div>
      );
    }
    return <Spinner text="Loading build…" />;
  }
  return <BuildView key={b.data.buildid} build={b.data} tab={tab} onTab={setTab} />;
}
