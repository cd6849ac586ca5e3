import type { PageProps } from '../routes';
import { themeChoice, setTheme, effectiveTheme, type ThemeChoice } from '../styles/theme';

const CHOICES: [ThemeChoice, string][] = [
  ['light', 'Light'],
  ['dark', 'Dark'],
  ['system', 'Same as the system'],
];

export default function SettingsPage(_props: PageProps) {
  const c = themeChoice.value;
  return (
    <div class="bb-page" data-testid="settings-page">
      <section class="bb-section">
        <h2>Theme</h2>
        <form class="bb-form" onSubmit={(e) => e.preventDefault()}>
          {CHOICES.map(([v, label]) => (
            <label class="bb-check" key={v}>
              <input type="radio" name="theme" value={v} checked={c === v} data-testid={`theme-${v}`} onChange={() => setTheme(v)} />
              {label}
            </label>
          ))}
        </form>
        <p class="bb-muted">
          Now showing the {effectiveTheme(c)} theme. The choice is kept in this browser.
        </p>
      </section>
      <section class="bb-section">
        <h2>Stored settings</h2>
        <p class="bb-muted">Settings of this UI are kept in the browser's local storage.</p>
        <button
          class="bb-btn"
          data-testid="settings-reset"
          onClick={() => {
            try {
              for (const k of Object.keys(localStorage)) if (k.startsWith('bb-')) localStorage.removeItem(k);
            } catch {
              // no storage
            }
            setTheme('system');
          }}
        >
          Reset to defaults
        </button>
      </section>
    </div>
  );
}
