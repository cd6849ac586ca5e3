import { render } from 'preact';
import './styles/theme.css';
import { loadConfig } from './config';
import { initTheme, applyConfigTheme } from './styles/theme';
import { ensureConnected } from './api/live';
import { App } from './app';

initTheme();
loadConfig().then((config) => {
  applyConfigTheme(config.theme);
  ensureConnected();
  render(<App />, document.getElementById('app')!);
});
