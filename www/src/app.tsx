import type { FunctionComponent } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { routes, type PageProps, type RouteDef } from './routes';
import { route, setPatterns, Link, pageTitle } from './router';
import { config, user, isAnonymous, userDisplayName } from './config';
import { connectionState } from './api/live';
import { themeChoice, setTheme, nextTheme, effectiveTheme } from './styles/theme';
import { Avatar, ErrorBox, Modal, Spinner } from './components';

setPatterns(routes.map((r) => r.pattern));


const loaded = new Map<string, FunctionComponent<PageProps>>();

function PageHost(props: { def: RouteDef | null }) {
  const def = props.def;
  const [, force] = useState(0);
  const [error, setError] = useState<string | null>(null);
  const comp = def ? loaded.get(def.pattern) : undefined;
  useEffect(() => {
    setError(null);
    if (!def || loaded.has(def.pattern)) return;
    let alive = true;
    def.load().then(
      (m) => {
        loaded.set(def.pattern, m.default);
        if (alive) force((x) => x + 1);
      },
      (e) => alive && setError(String(e?.message || e)),
    );
    return () => {
      alive = false;
    };
  }, [def]);
  if (!def) return <ErrorBox error={`No page at ${route.value.path}`} />;
  if (error) return <ErrorBox error={error} title="Could not load the page" />;
  if (!comp) return <Spinner />;
  const C = comp;
  const r = route.value;
  return <C key={r.path} params={r.params} query={r.query} />;
}

function navGroups(): [string, RouteDef[]][] {
  const groups = new Map<string, RouteDef[]>();
  for (const r of routes) {
    if (!r.nav) continue;
    if (!groups.has(r.nav.group)) groups.set(r.nav.group, []);
    groups.get(r.nav.group)!.push(r);
  }
  return [...groups];
}

function isActive(pattern: string, path: string): boolean {
  if (pattern === '/') return path === '/';
  return path === pattern || path.startsWith(pattern + '/');
}

function Nav() {
  const path = route.value.path;
  return (
    <nav class="bb-nav" aria-label="main">
      <a class="bb-brand" href={config.titleURL || '#/'} title={config.title}>
        <span class="bb-logo" aria-hidden="true">
          ⚙
        </span>
        <span class="bb-brand-text">{config.title || 'Buildbot'}</span>
      </a>
      {navGroups().map(([group, items]) => (
        <div class="bb-nav-group" key={group}>
          {group ? <div class="bb-nav-title">{group}</div> : null}
          {items.map((r) => (
            <Link key={r.pattern} to={r.pattern} class={`bb-nav-item${isActive(r.pattern, path) ? ' active' : ''}`}>
              {r.nav!.caption}
            </Link>
          ))}
        </div>
      ))}
    </nav>
  );
}

function ConnectionIndicator() {
  const s = connectionState.value;
  const text = s === 'open' ? 'live' : s === 'connecting' ? 'connecting…' : 'offline';
  return (
    <span class={`bb-conn bb-conn-${s}`} title={`WebSocket: ${s}`} data-testid="connection-state" data-state={s}>
      <span class="bb-conn-dot" />
      {text}
    </span>
  );
}

const THEME_ICONS = { light: '☀', dark: '☾', system: '◐' };

function ThemeToggle() {
  const c = themeChoice.value;
  return (
    <button
      class="bb-icon-btn"
      data-testid="theme-toggle"
      data-theme-choice={c}
      title={`Theme: ${c} (${effectiveTheme(c)}); click for ${nextTheme(c)}`}
      onClick={() => setTheme(nextTheme(c))}
    >
      {THEME_ICONS[c]}
    </button>
  );
}

/**
 * Logs in with HTTP Basic credentials at `auth/login`. The first request omits cookies so a
 * wrong password gives a plain 401 (with credentials the browser would open its own
 * password prompt on the `WWW-Authenticate` answer); the second one stores the session.
 */
export async function basicLogin(username: string, password: string): Promise<void> {
  const headers = { Authorization: 'Basic ' + btoa(unescape(encodeURIComponent(`${username}:${password}`))) };
  const check = await fetch('auth/login', { headers, credentials: 'omit' });
  if (!check.ok) throw new Error(check.status === 401 || check.status === 403 ? 'Invalid username or password' : `Login failed (${check.status})`);
  const res = await fetch('auth/login', { headers, credentials: 'same-origin' });
  if (!res.ok) throw new Error(`Login failed (${res.status})`);
}

function LoginForm(props: { onClose: () => void }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await basicLogin(username, password);
      location.reload();
    } catch (err) {
      setError((err as Error).message);
      setBusy(false);
    }
  };
  return (
    <Modal title="Login" onClose={props.onClose}>
      <form class="bb-form" onSubmit={submit} data-testid="login-form">
        <ErrorBox error={error} />
        <label>
          Username
          <input name="username" autoComplete="username" value={username} onInput={(e) => setUsername(e.currentTarget.value)} data-testid="login-username" />
        </label>
        <label>
          Password
          <input
            name="password"
            type="password"
            autoComplete="current-password"
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
            data-testid="login-password"
          />
        </label>
        <div class="bb-form-actions">
          <button type="submit" class="bb-btn bb-primary" disabled={busy} data-testid="login-submit">
            Login
          </button>
        </div>
      </form>
    </Modal>
  );
}

function UserMenu() {
  const u = user.value;
  const [open, setOpen] = useState(false);
  const auth = config.auth || { name: 'NoAuth' };
  if (isAnonymous(u)) {
    if (!auth.name || auth.name === 'NoAuth') return null;
    if (auth.oauth2) {
      const redirect = encodeURIComponent(location.hash.replace(/^#/, ''));
      return (
        <a class="bb-btn" href={`auth/login?redirect=${redirect}`} data-testid="login-button">
          Login{auth.name ? ` with ${auth.name}` : ''}
        </a>
      );
    }
    return (
      <>
        <button class="bb-btn" onClick={() => setOpen(true)} data-testid="login-button">
          Login
        </button>
        {open ? <LoginForm onClose={() => setOpen(false)} /> : null}
      </>
    );
  }
  return (
    <span class="bb-user">
      <Avatar email={u.email} username={u.username} name={u.full_name} size={22} />
      <span data-testid="user-name" class="bb-user-name" title={u.email}>
        {userDisplayName(u)}
      </span>
      <a class="bb-btn" href="auth/logout" data-testid="logout-button">
        Logout
      </a>
    </span>
  );
}

function TopBar(props: { title: string }) {
  return (
    <header class="bb-topbar">
      <h1 class="bb-title" data-testid="page-title">
        {props.title}
      </h1>
      <div class="bb-topbar-right">
        <ConnectionIndicator />
        <ThemeToggle />
        <UserMenu />
      </div>
    </header>
  );
}

let lastPrefetch = '';

export function App() {
  const r = route.value;
  const def = routes.find((x) => x.pattern === r.pattern) ?? null;
  if (def?.prefetch && lastPrefetch !== r.path) {
    lastPrefetch = r.path;
    def.prefetch();
  }
  const pt = pageTitle.value;
  const title = (pt && pt.path === r.path ? pt.title : null) ?? def?.title ?? 'Not found';
  useEffect(() => {
    document.title = `${title} - ${config.title || 'Buildbot'}`;
  }, [title]);
  return (
    <div class="bb-app">
      <Nav />
      <div class="bb-main">
        <TopBar title={title} />
        <main class="bb-content">
          <PageHost def={def} />
        </main>
      </div>
    </div>
  );
}
