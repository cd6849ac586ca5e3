import type { PageProps } from '../routes';
import { Link } from '../router';
import { config } from '../config';
import { useCollection } from '../api/live';
import { useBuilders, type Build, type BuilderSummary } from '../api/builders';
import { BuildLink, Duration, ErrorBox, ResultBadge, Spinner, TimeAgo, resultsClass, resultsText } from '../components';

function BuildRows(props: { builds: Build[]; names: Map<number, BuilderSummary>; running?: boolean; testid: string }) {
  if (!props.builds.length) return <p class="bb-empty">{props.running ? 'No build is running.' : 'No builds yet.'}</p>;
  return (
    <table class="bb-table" data-testid={props.testid}>
      <thead>
        <tr>
          <th>Build</th>
          <th>Status</th>
          <th>{props.running ? 'Running for' : 'Duration'}</th>
          <th>{props.running ? 'Started' : 'Finished'}</th>
        </tr>
      </thead>
      <tbody>
        {props.builds.map((b) => (
          <tr key={b.buildid}>
            <td class="bb-nowrap">
              <BuildLink build={b} builder={props.names.get(b.builderid) ?? { name: `builder ${b.builderid}` }} />
            </td>
            <td>
              <ResultBadge results={b.results} complete={b.complete} /> <span class="bb-muted">{b.state_string}</span>
            </td>
            <td>
              <Duration start={b.started_at} end={b.complete ? b.complete_at : null} />
            </td>
            <td>
              <TimeAgo epoch={b.complete ? b.complete_at : b.started_at} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function BuilderTiles(props: { builders: BuilderSummary[] }) {
  const active = props.builders.filter((b) => b.masterids.length || b.running).sort((a, b) => a.name.localeCompare(b.name));
  if (!active.length) return <p class="bb-empty">No builders configured.</p>;
  return (
    <div class="bb-tiles" data-testid="home-builders">
      {active.map((b) => {
        const last = b.recent_builds[0];
        const running = b.running > 0;
        const cls = running ? resultsClass(null, false) : last ? resultsClass(last.results, last.complete) : 'bb-result-pending';
        const title = `${b.name}: ${running ? 'running' : last ? resultsText(last.results, last.complete) : 'no builds'}`;
        return (
          <Link key={b.builderid} to={`/builders/${b.builderid}`} class={`bb-tile ${cls}`} title={title}>
            {b.name}
          </Link>
        );
      })}
    </div>
  );
}

export default function HomePage(_props: PageProps) {
  const builders = useBuilders(1);
  const running = useCollection<Build>('builds', { complete: false, order: '-buildid' });
  // finished builds only (running ones have their own table); live: a build enters on `finished`
  const recent = useCollection<Build>('builds', { complete: true, limit: 20, order: '-buildid' });
  const names = new Map(builders.builders.map((b) => [b.builderid, b]));
  return (
    <div class="bb-page" data-testid="home-page">
      <section class="bb-section">
        <h2>
          Welcome to {config.title || 'Buildbot'}
        </h2>
        <p class="bb-muted">
          {builders.builders.length} builders · {running.items.length} running builds ·{' '}
          <Link to="/builders">all builders</Link> · <Link to="/pendingbuildrequests">pending requests</Link>
        </p>
      </section>
      <section class="bb-section">
        <h2>Running builds</h2>
        <ErrorBox error={running.error} />
        {running.loading && !running.items.length ? <Spinner /> : <BuildRows builds={running.items} names={names} running testid="home-running" />}
      </section>
      <div class="bb-cols">
        <section class="bb-section">
          <h2>Recent builds</h2>
          <ErrorBox error={recent.error} />
          {recent.loading && !recent.items.length ? <Spinner /> : <BuildRows builds={recent.items} names={names} testid="home-recent" />}
        </section>
        <section class="bb-section">
          <h2>Builders</h2>
          <ErrorBox error={builders.error} />
          {builders.loading && !builders.builders.length ? <Spinner /> : <BuilderTiles builders={builders.builders} />}
        </section>
      </div>
    </div>
  );
}
