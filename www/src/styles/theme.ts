import { signal } from '@preact/signals';

export type ThemeChoice = 'light' | 'dark' | 'system';
const KEY = 'bb-theme';

function stored(): ThemeChoice {
  try {
    const v = localStorage.getItem(KEY);
    if (v === 'light' || v === 'dark' || v === 'system') return v;
  } catch {
    // no storage
  }
  return 'system';
}

export const themeChoice = signal<ThemeChoice>(stored());

function systemDark(): boolean {
  return typeof matchMedia === 'function' && matchMedia('(prefers-color-scheme: dark)').matches;
}

/** The theme in force: light or dark. */
export function effectiveTheme(choice: ThemeChoice = themeChoice.value): 'light' | 'dark' {
  return choice === 'system' ? (systemDark() ? 'dark' : 'light') : choice;
}

export function applyTheme(): void {
  if (typeof document !== 'undefined') document.documentElement.setAttribute('data-theme', effectiveTheme());
}

export function setTheme(choice: ThemeChoice): void {
  themeChoice.value = choice;
  try {
    localStorage.setItem(KEY, choice);
  } catch {
    // no storage
  }
  applyTheme();
}

/** light → dark → system → light */
export function nextTheme(choice: ThemeChoice): ThemeChoice {
  return choice === 'light' ? 'dark' : choice === 'dark' ? 'system' : 'light';
}

export function initTheme(): void {
  applyTheme();
  if (typeof matchMedia === 'function') {
    matchMedia('(prefers-color-scheme: dark)').addEventListener?.('change', () => applyTheme());
  }
}

/**
 * c['www']['theme'] variables: the master renders them into <style id="bb-theme">; when
 * that block is empty (vite dev) they are set from the config here.
 */
export function applyConfigTheme(theme: Record<string, unknown> | undefined): void {
  if (!theme || typeof document === 'undefined') return;
  const el = document.getElementById('bb-theme');
  if (el && el.textContent && el.textContent.trim() && !el.textContent.includes('{{')) return;
  for (const [k, v] of Object.entries(theme)) {
    if (typeof v === 'string' || typeof v === 'number') {
      document.documentElement.style.setProperty(k.startsWith('--') ? k : `--${k}`, String(v));
    }
  }
}
