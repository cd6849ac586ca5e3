import { useEffect, useState } from 'preact/hooks';
import type { PageProps } from '../routes';
import { config, user, isAnonymous, userDisplayName } from '../config';
import { getCollection } from '../api/rest';
import { ErrorBox, KeyValueTable, Spinner } from '../components';

export default function AboutPage(_props: PageProps) {
  const [api, setApi] = useState<any>(null);
  const [specs, setSpecs] = useState<{ path: string; plural?: string }[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    fetch('api', { headers: { Accept: 'application/json' } })
      .then((r) => (r.ok ? r.json() : null))
      .then(setApi, () => setApi(null));
    getCollection<any>('application.spec').then(
      (r) => setSpecs(r.items),
      (e) => setError(e.message),
    );
  }, []);
  const u = user.value;
  const plugins = Object.keys(config.plugins || {});
  return (
    <div class="bb-page" data-testid="about-page">
      <section class="bb-section">
        <h2>{config.title || 'Buildbot'}</h2>
        <KeyValueTable
          data-testid="about-config"
          rows={[
            ['Buildbot URL', config.buildbotURL ? <a href={config.buildbotURL}>{config.buildbotURL}</a> : '—'],
            ['Project URL', config.titleURL ? <a href={config.titleURL}>{config.titleURL}</a> : '—'],
            ['Multi-master', config.multiMaster ? 'yes' : 'no'],
            ['Authentication', config.auth?.name || 'none'],
            ['Logged in as', isAnonymous(u) ? 'anonymous' : userDisplayName(u)],
            ['Avatar methods', ([] as { name: string }[]).concat(config.avatar_methods || []).map((a) => a.name).join(', ') || '—'],
            ['UI plugins', plugins.length ? plugins.join(', ') : 'none'],
          ]}
        />
      </section>
      <section class="bb-section">
        <h2>Versions</h2>
        <KeyValueTable data-testid="about-versions" rows={(config.versions || []).map(([n, v]) => [n, v])} />
      </section>
      <section class="bb-section">
        <h2>Data API</h2>
        {api?.api_versions ? (
          <p>
            {Object.entries(api.api_versions).map(([v, url]) => (
              <span key={v}>
                {v}: <a href={String(url)}>{String(url)}</a>{' '}
              </span>
            ))}
          </p>
        ) : null}
        <ErrorBox error={error} />
        {specs === null && !error ? (
          <Spinner />
        ) : specs ? (
          <details>
            <summary>{specs.length} endpoints</summary>
            <ul class="bb-mono bb-spec-list">
              {specs.map((s) => (
                <li key={s.path}>{s.path}</li>
              ))}
            </ul>
          </details>
        ) : null}
      </section>
    </div>
  );
}
