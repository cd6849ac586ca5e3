import { defineConfig, type Plugin } from 'vite';
import preact from '@preact/preset-vite';

/**
 * index.html is also the Jinja2 template the master renders: its two template lines must
 * reach the built file untouched (Vite would otherwise parse `{{ theme_css }}` as CSS).
 * Under `vite dev` they stay comments: src/config.ts then fetches `config` instead.
 */
function jinjaTemplateLines(): Plugin {
  const lines = [
    '<script>window.buildbotFrontendConfig = {{ configjson }};</script>',
    '<style id="bb-theme">{{ theme_css }}</style>',
  ];
  const marker = (i: number) => `<!--bb-jinja-${i}-->`;
  return {
    name: 'buildbot-jinja-template-lines',
    transformIndexHtml: {
      order: 'pre',
      handler(html) {
        lines.forEach((l, i) => {
          if (!html.includes(l)) throw new Error(`index.html lost its template line: ${l}`);
          html = html.replace(l, marker(i));
        });
        return html;
      },
    },
    generateBundle: {
      order: 'post',
      handler(_opts, bundle) {
        const html = bundle['index.html'];
        if (html && html.type === 'asset') {
          let text = String(html.source);
          lines.forEach((l, i) => (text = text.replace(marker(i), l)));
          html.source = text;
        }
      },
    },
  };
}

// `npm run dev` proxies the server-side paths to a running master.
const target = process.env.BUILDBOT_URL || 'http://localhost:8010';
const proxied = ['/api', '/auth', '/config', '/avatar', '/ui-api', '/plugins'];

interface ProxyLike {
  on(event: 'proxyReq' | 'proxyReqWs', cb: (proxyReq: { getHeader(n: string): unknown; setHeader(n: string, v: string): void }) => void): unknown;
}

/**
 * The master refuses control calls (and WebSockets) whose Origin is not its own
 * ("invalid origin"): under `vite dev` the browser's Origin is the dev server's, so the
 * proxied requests get the target's origin instead.
 */
export function rewriteOrigin(targetUrl: string): (proxy: ProxyLike) => void {
  const origin = new URL(targetUrl.replace(/^ws/, 'http')).origin;
  return (proxy) => {
    const fix = (proxyReq: { getHeader(n: string): unknown; setHeader(n: string, v: string): void }) => {
      if (proxyReq.getHeader('origin') !== undefined) proxyReq.setHeader('origin', origin);
    };
    proxy.on('proxyReq', fix);
    proxy.on('proxyReqWs', fix);
  };
}

export default defineConfig({
  // relative assets: the UI works under any buildbotURL path
  base: './',
  plugins: [preact(), jinjaTemplateLines()],
  build: {
    outDir: 'buildbot_www/static',
    emptyOutDir: true,
    chunkSizeWarningLimit: 300,
  },
  server: {
    proxy: {
      ...Object.fromEntries(proxied.map((p) => [p, { target, changeOrigin: true, configure: rewriteOrigin(target) }])),
      '/ws': { target: target.replace(/^http/, 'ws'), ws: true, changeOrigin: true, configure: rewriteOrigin(target) },
    },
  },
});
