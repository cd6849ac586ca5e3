import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { Link } from '../router';
import { ResultBadge, resultsClass, resultsText } from './results';

export function Spinner(props: { text?: string }) {
  return (
    <span class="bb-spinner" role="status" aria-live="polite">
      <span class="bb-spinner-dot" />
      {props.text ?? 'Loading…'}
    </span>
  );
}

export function ErrorBox(props: { error: unknown; title?: string }) {
  if (!props.error) return null;
  const e = props.error as any;
  const text = typeof e === 'string' ? e : e?.message ? String(e.message) : String(e);
  return (
    <div class="bb-error" role="alert">
      {props.title ? <strong>{props.title}: </strong> : null}
      {text}
    </div>
  );
}

/** A dialog over the page; Escape and a click on the backdrop close it. */
export function Modal(props: { title: ComponentChildren; onClose: () => void; children?: ComponentChildren; footer?: ComponentChildren; wide?: boolean }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') props.onClose();
    };
    document.addEventListener('keydown', onKey);
    const first = ref.current?.querySelector<HTMLElement>('input, select, textarea, button.bb-primary');
    first?.focus();
    return () => document.removeEventListener('keydown', onKey);
  }, []);
  return (
    <div class="bb-modal-backdrop" onMouseDown={(e) => e.target === e.currentTarget && props.onClose()}>
      <div class={`bb-modal${props.wide ? ' bb-modal-wide' : ''}`} role="dialog" aria-modal="true" ref={ref}>
        <div class="bb-modal-head">
          <h2>{props.title}</h2>
          <button class="bb-icon-btn" aria-label="Close" onClick={props.onClose}>
            ×
          </button>
        </div>
        <div class="bb-modal-body">{props.children}</div>
        {props.footer ? <div class="bb-modal-foot">{props.footer}</div> : null}
      </div>
    </div>
  );
}

/** Yes/no dialog. */
export function Confirm(props: {
  title?: string;
  message: ComponentChildren;
  confirmText?: string;
  onConfirm: () => void;
  onCancel: () => void;
  danger?: boolean;
}) {
  return (
    <Modal
      title={props.title ?? 'Confirm'}
      onClose={props.onCancel}
      footer={
        <>
          <button class="bb-btn" onClick={props.onCancel} data-testid="confirm-cancel">
            Cancel
          </button>
          <button class={`bb-btn bb-primary${props.danger ? ' bb-danger' : ''}`} onClick={props.onConfirm} data-testid="confirm-ok">
            {props.confirmText ?? 'OK'}
          </button>
        </>
      }
    >
      {props.message}
    </Modal>
  );
}

/** Link to a build page: `#/builders/<builderid>/builds/<number>`, coloured by result. */
export function BuildLink(props: {
  build: { builderid: number; number: number; results?: number | null; complete?: boolean; state_string?: string };
  builder?: { name: string } | null;
  badge?: boolean;
}) {
  const b = props.build;
  const text = props.builder ? `${props.builder.name} #${b.number}` : `#${b.number}`;
  return (
    <Link
      to={`/builders/${b.builderid}/builds/${b.number}`}
      class={`bb-buildlink ${resultsClass(b.results, b.complete)}`}
      title={`${resultsText(b.results, b.complete)}${b.state_string ? ': ' + b.state_string : ''}`}
    >
      {text}
    </Link>
  );
}

/** A build's list key: build numbers repeat across builders. */
export function buildKey(b: { buildid?: number; builderid: number; number: number }): string | number {
  return b.buildid ?? `${b.builderid}:${b.number}`;
}

/** Small coloured squares for a list of builds (newest first). */
export function BuildBadges(props: { builds: { buildid?: number; builderid: number; number: number; results?: number | null; complete?: boolean; state_string?: string }[] }) {
  return (
    <span class="bb-build-badges">
      {props.builds.map((b) => (
        <Link
          key={buildKey(b)}
          to={`/builders/${b.builderid}/builds/${b.number}`}
          class={`bb-mini ${resultsClass(b.results, b.complete)}`}
          title={`#${b.number} ${resultsText(b.results, b.complete)}${b.state_string ? ': ' + b.state_string : ''}`}
        >
          {b.number}
        </Link>
      ))}
    </span>
  );
}

export { ResultBadge };

/** Paging controls; offsets are 0-based. `total` may be null (unknown): then Next stays enabled while pages are full. */
export function Pager(props: { total: number | null; limit: number; offset: number; onPage: (offset: number) => void; count?: number }) {
  const { total, limit, offset } = props;
  const hasNext = total !== null ? offset + limit < total : (props.count ?? limit) >= limit;
  const page = Math.floor(offset / limit) + 1;
  const pages = total !== null ? Math.max(1, Math.ceil(total / limit)) : null;
  return (
    <nav class="bb-pager" aria-label="pages">
      <button class="bb-btn" disabled={offset <= 0} onClick={() => props.onPage(0)} data-testid="pager-first">
        «
      </button>
      <button class="bb-btn" disabled={offset <= 0} onClick={() => props.onPage(Math.max(0, offset - limit))} data-testid="pager-prev">
        ‹ Prev
      </button>
      <span class="bb-pager-info">
        page {page}
        {pages !== null ? ` of ${pages}` : ''}
      </span>
      <button class="bb-btn" disabled={!hasNext} onClick={() => props.onPage(offset + limit)} data-testid="pager-next">
        Next ›
      </button>
    </nav>
  );
}

/** Clickable tags; selected ones are highlighted. */
export function TagFilter(props: { tags: string[]; selected: string[]; onChange: (selected: string[]) => void }) {
  const sel = new Set(props.selected);
  const toggle = (t: string) => {
    const next = new Set(sel);
    if (next.has(t)) next.delete(t);
    else next.add(t);
    props.onChange([...next]);
  };
  return (
    <span class="bb-tagfilter">
      {props.tags.map((t) => (
        <Tag key={t} tag={t} active={sel.has(t)} onClick={() => toggle(t)} />
      ))}
      {props.selected.length ? (
        <button class="bb-link-btn" onClick={() => props.onChange([])} data-testid="tags-clear">
          clear
        </button>
      ) : null}
    </span>
  );
}

export function Tag(props: { tag: string; active?: boolean; onClick?: () => void }) {
  return (
    <button
      type="button"
      class={`bb-tag${props.active ? ' bb-tag-active' : ''}`}
      onClick={props.onClick}
      aria-pressed={props.active ? 'true' : 'false'}
      data-tag={props.tag}
    >
      {props.tag}
    </button>
  );
}

/** Avatar image served by the master (`avatar?email=..&size=..`); hides itself when absent. */
/** Up to two initials of a name, an email's local part or a username (`?` when none). */
export function initials(text: string | null | undefined): string {
  const base = (text ?? '').replace(/<[^>]*>/g, ' ').split('@')[0];
  const words = base.split(/[\s._+-]+/).filter((w) => /^[\p{L}\p{N}]/u.test(w));
  if (!words.length) return '?';
  const chars = words.length > 1 ? [words[0], words[words.length - 1]].map((w) => [...w][0]) : [...words[0]].slice(0, 1);
  return chars.join('').toUpperCase();
}

export function Avatar(props: { email?: string | null; username?: string | null; name?: string | null; size?: number }) {
  const size = props.size ?? 24;
  const [failed, setFailed] = useState<string | null>(null);
  if (!props.email && !props.username) return null;
  const q = new URLSearchParams();
  if (props.email) q.set('email', props.email);
  if (props.username) q.set('username', props.username);
  q.set('size', String(size));
  const src = `avatar?${q}`;
  if (failed === src) {
    // no image (no avatar method, or the server's fallback missing): initials instead
    return (
      <span
        class="bb-avatar bb-avatar-initials"
        style={{ width: `${size}px`, height: `${size}px`, fontSize: `${Math.max(8, Math.round(size * 0.42))}px` }}
        title={props.name ?? props.email ?? props.username ?? undefined}
        aria-hidden="true"
        data-testid="avatar-initials"
      >
        {initials(props.name || props.username || props.email)}
      </span>
    );
  }
  return <img class="bb-avatar" src={src} width={size} height={size} alt="" loading="lazy" onError={() => setFailed(src)} />;
}

/** Shows loading / error / empty states, else the children. */
export function Loadable(props: { loading: boolean; error: unknown; empty?: boolean; emptyText?: string; children?: ComponentChildren; hasData?: boolean }) {
  if (props.error && !props.hasData) return <ErrorBox error={props.error} />;
  if (props.loading && !props.hasData) return <Spinner />;
  return (
    <>
      {props.error ? <ErrorBox error={props.error} /> : null}
      {props.empty ? <p class="bb-empty">{props.emptyText ?? 'Nothing to show.'}</p> : props.children}
    </>
  );
}
