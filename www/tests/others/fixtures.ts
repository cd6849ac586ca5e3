import type { Build, BuildRequest, Buildset, Change, SourceStamp } from '../../src/views/types';

export function build(p: Partial<Build> & { buildid: number }): Build {
  return {
    number: p.buildid,
    builderid: 1,
    buildrequestid: p.buildid,
    workerid: 1,
    masterid: 1,
    started_at: 1000,
    complete: true,
    complete_at: 1100,
    results: 0,
    state_string: 'finished',
    ...p,
  };
}

export function ss(p: Partial<SourceStamp> & { ssid: number }): SourceStamp {
  return { revision: null, branch: 'main', repository: 'r', project: 'p', codebase: '', ...p };
}

export function buildset(bsid: number, sourcestamps: SourceStamp[]): Buildset {
  return {
    bsid,
    external_idstring: null,
    reason: 'r',
    submitted_at: 1,
    complete: false,
    complete_at: null,
    results: null,
    sourcestamps,
  };
}

export function request(p: Partial<BuildRequest> & { buildrequestid: number; buildsetid: number }): BuildRequest {
  return {
    builderid: 1,
    priority: 0,
    claimed: false,
    claimed_at: null,
    claimed_by_masterid: null,
    complete: false,
    results: -1,
    submitted_at: 1,
    complete_at: null,
    waited_for: false,
    ...p,
  };
}

export function change(changeid: number, sourcestamp: SourceStamp, revision: string | null = null): Change {
  return {
    changeid,
    author: 'A <a@x>',
    files: [],
    comments: 'c',
    revision,
    when_timestamp: 1,
    branch: 'main',
    revlink: null,
    repository: sourcestamp.repository,
    project: 'p',
    codebase: sourcestamp.codebase,
    sourcestamp,
  };
}
