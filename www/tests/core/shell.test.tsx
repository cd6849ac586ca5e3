import { describe, it, expect, vi, afterEach, beforeEach } from 'vitest';
import { render, cleanup, fireEvent, waitFor } from '@testing-library/preact';
import { App, basicLogin } from '../../src/app';
import { applyConfig } from '../../src/config';
import { __testing } from '../../src/api/live';
import { navigate } from '../../src/router';
import { themeChoice, setTheme, nextTheme, effectiveTheme } from '../../src/styles/theme';

beforeEach(() => {
  __testing.reset();
  __testing.setSocketFactory(
    () => ({ readyState: 0, send() {}, close() {}, onopen: null, onclose: null, onerror: null, onmessage: null }) as any,
  );
  vi.stubGlobal(
    'fetch',
    vi.fn(async () => ({ ok: true, status: 200, json: async () => ({ masters: [], meta: { total: 0 } }), text: async () => '' })),
  );
});
afterEach(() => {
  cleanup();
  __testing.reset();
  vi.unstubAllGlobals();
});

describe('shell', () => {
  it('shows the nav, the page title and a login button for user/password auth', async () => {
    applyConfig({ title: 'My CI', auth: { name: 'UserPasswordAuth' }, user: { anonymous: true } });
    navigate('/masters');
    const { getByTestId, container } = render(<App />);
    expect(getByTestId('page-title').textContent).toBe('Masters');
    expect(container.querySelector('.bb-nav a[href="#/builders"]')!.textContent).toBe('Builders');
    expect(container.querySelector('.bb-nav a[href="#/masters"]')!.className).toContain('active');
    expect(container.querySelector('.bb-nav a[href="#/builders"]')!.className).not.toContain('active');
    fireEvent.click(getByTestId('login-button'));
    expect(getByTestId('login-form')).toBeTruthy();
    await waitFor(() => expect(getByTestId('masters-page')).toBeTruthy());
  });
  it('links to the OAuth2 login with the current route', () => {
    applyConfig({ auth: { name: 'GitHub', oauth2: true }, user: { anonymous: true } });
    navigate('/builders/3');
    const { getByTestId } = render(<App />);
    expect(getByTestId('login-button').getAttribute('href')).toBe('auth/login?redirect=%2Fbuilders%2F3');
  });
  it('shows the user and a logout link', () => {
    applyConfig({ auth: { name: 'UserPasswordAuth' }, user: { username: 'alice', email: 'a@x.org', full_name: 'Alice' } });
    const { getByTestId, queryByTestId } = render(<App />);
    expect(getByTestId('user-name').textContent).toBe('Alice');
    expect(getByTestId('logout-button').getAttribute('href')).toBe('auth/logout');
    expect(queryByTestId('login-button')).toBeNull();
  });
  it('has no login without auth', () => {
    applyConfig({ auth: { name: 'NoAuth' }, user: { anonymous: true } });
    const { queryByTestId } = render(<App />);
    expect(queryByTestId('login-button')).toBeNull();
  });
  it('toggles the theme and stores it', () => {
    applyConfig({});
    setTheme('light');
    const { getByTestId } = render(<App />);
    expect(document.documentElement.dataset.theme).toBe('light');
    fireEvent.click(getByTestId('theme-toggle'));
    expect(themeChoice.value).toBe('dark');
    expect(document.documentElement.dataset.theme).toBe('dark');
    expect(localStorage.getItem('bb-theme')).toBe('dark');
    expect(nextTheme('dark')).toBe('system');
    expect(['light', 'dark']).toContain(effectiveTheme('system'));
  });
  it('logs in with two Basic requests, the first without cookies', async () => {
    const f = vi.fn(async (_u: string, init: RequestInit) => ({ ok: (init.headers as any).Authorization === 'Basic ' + btoa('alice:pw'), status: 401 }));
    vi.stubGlobal('fetch', f);
    await expect(basicLogin('alice', 'bad')).rejects.toThrow('Invalid username or password');
    expect(f).toHaveBeenCalledTimes(1);
    expect((f.mock.calls[0][1] as RequestInit).credentials).toBe('omit');
    await basicLogin('alice', 'pw');
    expect(f).toHaveBeenCalledTimes(3);
    expect((f.mock.calls[2][1] as RequestInit).credentials).toBe('same-origin');
  });
});
