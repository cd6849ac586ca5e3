// `/builds/:buildid` → the build's canonical page `/builders/:builderid/builds/:number`.

import { useEffect, useState } from 'preact/hooks';
import type { PageProps } from '../routes';
import { navigate } from '../router';
import { getJson } from '../api/rest';
import { ErrorBox, Spinner } from '../components';

export default function Page(props: PageProps) {
  const { buildid } = props.params;
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let alive = true;
    getJson(`builds/${buildid}`).then(
      (body) => {
        if (!alive) return;
        const b = body?.builds?.[0];
        if (!b) setError(`Build ${buildid} does not exist.`);
        else navigate(`/builders/${b.builderid}/builds/${b.number}`, { replace: true });
      },
      (e: Error) => alive && setError(/not found/i.test(e.message) ? `Build ${buildid} does not exist.` : e.message),
    );
    return () => {
      alive = false;
    };
  }, [buildid]);
  if (error) return <ErrorBox error={error} />;
  return <Spinner text={`Opening build ${buildid}…`} />;
}
