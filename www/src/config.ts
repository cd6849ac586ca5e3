import { signal } from '@preact/signals';

export interface UiUser {
  anonymous?: boolean;
  username?: string;
  email?: string;
  full_name?: string;
  groups?: string[];
  [key: string]: unknown;
}

export interface UiConfig {
  title: string;
  titleURL: string;
  buildbotURL: string;
  multiMaster: boolean;
  port?: number | string;
  plugins: Record<string, unknown>;
  auth: { name: string; oauth2?: boolean; fa_icon?: string; [key: string]: unknown };
  // one object for a single method, as Buildbot sends it; a list when a list is configured
  avatar_methods: { name: string } | { name: string }[];
  versions: [string, string][];
  ui_default_config: Record<string, unknown>;
  user: UiUser;
  theme: Record<string, unknown>;
  default_page?: string;
  [key: string]: unknown;
}

declare global {
  interface Window {
    buildbotFrontendConfig?: Partial<UiConfig>;
  }
}

function defaults(): UiConfig {
  return {
    title: 'Buildbot',
    titleURL: '',
    buildbotURL: '',
    multiMaster: false,
    plugins: {},
    auth: { name: 'NoAuth' },
    avatar_methods: [],
    versions: [],
    ui_default_config: {},
    user: { anonymous: true },
    theme: {},
  };
}

/** The front-end configuration; filled by loadConfig() before the first render. */
export const config: UiConfig = defaults();

/** The logged-in user ({anonymous: true} when nobody is). */
export const user = signal<UiUser>({ anonymous: true });

export function isAnonymous(u: UiUser = user.value): boolean {
  return !!u.anonymous || !(u.username || u.email || u.full_name);
}

export function userDisplayName(u: UiUser = user.value): string {
  return (u.full_name || u.username || u.email || '') as string;
}

export function applyConfig(c: Partial<UiConfig>): UiConfig {
  Object.assign(config, defaults(), c);
  user.value = config.user || { anonymous: true };
  return config;
}

/**
 * The master injects `window.buildbotFrontendConfig` into index.html; under `vite dev`
 * the template line is not valid JS, so the config is fetched from `config` instead.
 */
export async function loadConfig(): Promise<UiConfig> {
  const injected = typeof window !== 'undefined' ? window.buildbotFrontendConfig : undefined;
  if (injected && typeof injected === 'object') return applyConfig(injected);
  try {
    const res = await fetch('config', { headers: { Accept: 'application/json' } });
    if (res.ok) return applyConfig(await res.json());
  } catch {
    // fall through to the defaults
  }
  return applyConfig({});
}
