/**
 * The parameter form of a ForceScheduler, generated from its `all_fields` (nested groups
 * with vertical/simple/tabs layouts; text, textarea, int, bool, list, username, fixed,
 * file fields), sent as the `force` JSON-RPC call with one key per field fullName.
 */
import { useState } from 'preact/hooks';
import type { ComponentChildren } from 'preact';
import { control, ApiError } from '../api/rest';
import { navigate } from '../router';
import { ErrorBox, Modal } from './misc';

export interface ForceField {
  name: string;
  fullName: string | null;
  label?: string;
  tablabel?: string;
  type: string;
  default?: any;
  required?: boolean;
  multiple?: boolean;
  regex?: string | null;
  hide?: boolean;
  maxsize?: number | null;
  tooltip?: string;
  size?: number;
  cols?: number;
  rows?: number;
  need_email?: boolean;
  choices?: any[];
  strict?: boolean;
  layout?: string;
  columns?: number;
  fields?: ForceField[];
  [key: string]: any;
}

export interface ForceScheduler {
  name: string;
  button_name: string;
  label: string;
  builder_names: string[];
  enabled: boolean;
  all_fields: ForceField[];
}

type Values = Record<string, any>;

/** Every leaf field (not nested) in order, with its fullName. */
export function leafFields(fields: ForceField[]): ForceField[] {
  const out: ForceField[] = [];
  for (const f of fields || []) {
    if (f.type === 'nested') out.push(...leafFields(f.fields || []));
    else if (f.fullName) out.push(f);
  }
  return out;
}

export function initialValues(fields: ForceField[]): Values {
  const v: Values = {};
  for (const f of leafFields(fields)) {
    let d = f.default;
    if (f.type === 'list' && f.multiple && !Array.isArray(d)) d = d === undefined || d === null || d === '' ? [] : [d];
    if (f.type === 'bool') d = !!d;
    if (d === undefined || d === null) d = f.type === 'list' && f.multiple ? [] : '';
    v[f.fullName!] = d;
  }
  return v;
}

/** The `force` params: `builderid` plus one key per field fullName. */
export function forceParams(builderid: number | string, fields: ForceField[], values: Values): Record<string, any> {
  const p: Record<string, any> = { builderid: String(builderid) };
  for (const f of leafFields(fields)) {
    const name = f.fullName!;
    let v = values[name];
    if (f.type === 'int' && v !== '' && v !== null && v !== undefined && !isNaN(Number(v))) v = Number(v);
    p[name] = v;
  }
  return p;
}

/**
 * Splits a force error into per-field messages and the rest. The server answers
 * `{fieldFullName: message}`; a plain message naming a field is shown under it too.
 */
export function splitErrors(err: unknown, fields: ForceField[]): { fields: Record<string, string>; top: string | null } {
  const names = leafFields(fields).map((f) => f.fullName!);
  const out: Record<string, string> = {};
  const rest: string[] = [];
  if (err instanceof ApiError && err.fields) {
    for (const [k, v] of Object.entries(err.fields)) {
      if (names.includes(k)) out[k] = v;
      else rest.push(`${k}: ${v}`);
    }
    return { fields: out, top: rest.length ? rest.join('; ') : null };
  }
  const msg = err instanceof Error ? err.message : String(err);
  // longest names first, so `grp_name` wins over `name`
  const byLength = [...names].sort((a, b) => b.length - a.length);
  const hit = byLength.find((n) => new RegExp(`(^|[^\\w])${n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}([^\\w]|$)`).test(msg));
  if (hit) {
    out[hit] = msg;
    return { fields: out, top: null };
  }
  return { fields: out, top: msg };
}

function readFile(file: File, maxsize?: number | null): Promise<string> {
  if (maxsize && file.size > maxsize) return Promise.reject(new Error(`file is larger than ${maxsize} bytes`));
  return file.text();
}

interface FieldCtx {
  values: Values;
  set: (name: string, v: any) => void;
  errors: Record<string, string>;
}

function FieldLabel(props: { f: ForceField; children: ComponentChildren; check?: boolean }) {
  const { f } = props;
  return (
    <label class={props.check ? 'bb-check' : undefined} title={f.tooltip || undefined}>
      {props.check ? props.children : null}
      <span>
        {f.label || f.name}
        {f.required ? <span class="bb-required"> *</span> : null}
      </span>
      {props.check ? null : props.children}
    </label>
  );
}

function Leaf(props: { f: ForceField; ctx: FieldCtx }) {
  const { f, ctx } = props;
  const name = f.fullName!;
  const v = ctx.values[name];
  const tid = `force-field-${name}`;
  const err = ctx.errors[name];
  if (f.hide) return null;
  let input: ComponentChildren;
  switch (f.type) {
    case 'textarea':
      input = (
        <textarea name={name} data-testid={tid} rows={f.rows || 4} cols={f.cols || 40} value={v} onInput={(e) => ctx.set(name, e.currentTarget.value)} />
      );
      break;
    case 'int':
      input = <input name={name} data-testid={tid} type="number" step="1" value={v} onInput={(e) => ctx.set(name, e.currentTarget.value)} />;
      break;
    case 'bool':
      return (
        <div class="bb-field">
          <FieldLabel f={f} check>
            <input name={name} data-testid={tid} type="checkbox" checked={!!v} onChange={(e) => ctx.set(name, e.currentTarget.checked)} />
          </FieldLabel>
          {err ? <div class="bb-field-error" data-testid={`force-field-error-${name}`}>{err}</div> : null}
        </div>
      );
    case 'list': {
      const choices = (f.choices || []).map(String);
      if (f.multiple) {
        input = (
          <select
            name={name}
            data-testid={tid}
            multiple
            size={Math.min(8, Math.max(3, choices.length))}
            onChange={(e) => ctx.set(name, [...e.currentTarget.selectedOptions].map((o) => o.value))}
          >
            {choices.map((c) => (
              <option key={c} value={c} selected={Array.isArray(v) && v.map(String).includes(c)}>
                {c}
              </option>
            ))}
          </select>
        );
      } else if (f.strict === false) {
        const listId = `bb-dl-${name}`;
        input = (
          <>
            <input name={name} data-testid={tid} list={listId} value={v} onInput={(e) => ctx.set(name, e.currentTarget.value)} />
            <datalist id={listId}>
              {choices.map((c) => (
                <option key={c} value={c} />
              ))}
            </datalist>
          </>
        );
      } else {
        input = (
          <select name={name} data-testid={tid} value={String(v ?? '')} onChange={(e) => ctx.set(name, e.currentTarget.value)}>
            {!choices.includes(String(v ?? '')) ? <option value={String(v ?? '')}>{String(v ?? '')}</option> : null}
            {choices.map((c) => (
              <option key={c} value={c}>
                {c}
              </option>
            ))}
          </select>
        );
      }
      break;
    }
    case 'fixed':
      input = (
        <input name={name} data-testid={tid} value={typeof v === 'object' ? JSON.stringify(v) : String(v ?? '')} readOnly disabled />
      );
      break;
    case 'file':
      input = (
        <input
          name={name}
          data-testid={tid}
          type="file"
          onChange={(e) => {
            const file = e.currentTarget.files?.[0];
            if (!file) return ctx.set(name, '');
            readFile(file, f.maxsize).then(
              (text) => ctx.set(name, text),
              (er: Error) => ctx.set(name, { __error: er.message }),
            );
          }}
        />
      );
      break;
    case 'username':
      input = (
        <input
          name={name}
          data-testid={tid}
          type="text"
          size={f.size || 30}
          placeholder={f.need_email ? 'Full Name <email@example.com>' : undefined}
          value={v}
          onInput={(e) => ctx.set(name, e.currentTarget.value)}
        />
      );
      break;
    default:
      input = <input name={name} data-testid={tid} type="text" size={f.size || 30} value={v} onInput={(e) => ctx.set(name, e.currentTarget.value)} />;
  }
  return (
    <div class="bb-field">
      <FieldLabel f={f}>{input}</FieldLabel>
      {err ? (
        <div class="bb-field-error" data-testid={`force-field-error-${name}`}>
          {err}
        </div>
      ) : null}
    </div>
  );
}

function Nested(props: { f: ForceField; ctx: FieldCtx; top?: boolean }) {
  const { f, ctx } = props;
  const children = (f.fields || []).filter((c) => !c.hide || c.type === 'nested');
  const [tab, setTab] = useState(0);
  if (f.hide) return null;
  if (f.layout === 'tabs') {
    const cur = children[Math.min(tab, children.length - 1)];
    return (
      <div class="bb-fieldset">
        <div class="bb-tabs" role="tablist">
          {children.map((c, i) => (
            <button type="button" key={c.name || i} class={`bb-tab${i === tab ? ' active' : ''}`} onClick={() => setTab(i)}>
              {c.tablabel || c.label || c.name}
            </button>
          ))}
        </div>
        {cur ? <Field f={cur} ctx={ctx} /> : null}
      </div>
    );
  }
  const columns = f.columns && f.columns > 1 ? f.columns : 1;
  const body = (
    <div
      class="bb-form-grid"
      style={columns > 1 ? { display: 'grid', gridTemplateColumns: `repeat(${columns}, minmax(0, 1fr))`, gap: '10px' } : undefined}
    >
      {children.map((c, i) => (
        <Field key={c.fullName || c.name || i} f={c} ctx={ctx} />
      ))}
    </div>
  );
  if (props.top || (!f.label && !f.name)) return body;
  return (
    <fieldset class="bb-fieldset">
      {f.label ? <legend>{f.label}</legend> : null}
      {body}
    </fieldset>
  );
}

function Field(props: { f: ForceField; ctx: FieldCtx }) {
  return props.f.type === 'nested' ? <Nested f={props.f} ctx={props.ctx} /> : <Leaf f={props.f} ctx={props.ctx} />;
}

/** Where to go after a successful force: the new build request's page, which follows
 * (`follow=1`) to the request's build as soon as that build exists. */
export function forceTarget(result: any, builderid: number | string): string | null {
  if (Array.isArray(result) && result.length >= 2 && result[1] && typeof result[1] === 'object') {
    const brid = result[1][String(builderid)] ?? Object.values(result[1])[0];
    if (brid !== undefined && brid !== null) return `/buildrequests/${brid}?follow=1`;
  }
  return null;
}

export function ForceDialog(props: { scheduler: ForceScheduler; builderid: number; onClose: () => void; onForced?: (result: any) => void }) {
  const sch = props.scheduler;
  const [values, setValues] = useState<Values>(() => initialValues(sch.all_fields));
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [topError, setTopError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const ctx: FieldCtx = {
    values,
    errors,
    set: (name, v) => {
      setValues((old) => ({ ...old, [name]: v }));
      if (errors[name]) setErrors((e) => ({ ...e, [name]: '' }));
    },
  };
  const submit = async (e?: Event) => {
    e?.preventDefault();
    const fileErr = Object.entries(values).find(([, v]) => v && typeof v === 'object' && '__error' in v);
    if (fileErr) {
      setErrors({ [fileErr[0]]: (fileErr[1] as any).__error });
      return;
    }
    setBusy(true);
    setTopError(null);
    setErrors({});
    try {
      const result = await control(`forceschedulers/${encodeURIComponent(sch.name)}`, 'force', forceParams(props.builderid, sch.all_fields, values));
      props.onForced?.(result);
      props.onClose();
      const to = forceTarget(result, props.builderid);
      if (to) navigate(to);
    } catch (err) {
      const s = splitErrors(err, sch.all_fields);
      setErrors(s.fields);
      setTopError(s.top ?? (Object.keys(s.fields).length ? 'Please fix the fields marked below.' : null));
      setBusy(false);
    }
  };
  return (
    <Modal
      title={sch.label || sch.name}
      onClose={props.onClose}
      wide
      footer={
        <>
          <button type="button" class="bb-btn" onClick={props.onClose}>
            Cancel
          </button>
          <button type="submit" form="bb-force-form" class="bb-btn bb-primary" disabled={busy} data-testid="force-submit">
            {busy ? 'Starting…' : sch.button_name || 'Start Build'}
          </button>
        </>
      }
    >
      <form id="bb-force-form" class="bb-form" onSubmit={submit} data-testid="force-form">
        {topError ? (
          <div data-testid="force-error">
            <ErrorBox error={topError} />
          </div>
        ) : null}
        {sch.all_fields.map((f, i) => (f.type === 'nested' ? <Nested key={i} f={f} ctx={ctx} top={i === 0 && !f.name} /> : <Leaf key={i} f={f} ctx={ctx} />))}
      </form>
    </Modal>
  );
}
