// Entity shapes of the data API (spec data-api.md §4) as the "others" pages use them.
// Only the fields these pages read are listed; entities carry more.

export type Props = Record<string, [unknown, string]>;

export interface Build {
  buildid: number;
  number: number;
  builderid: number;
  buildrequestid: number;
  workerid: number | null;
  masterid: number;
  started_at: number;
  complete: boolean;
  complete_at: number | null;
  results: number | null;
  state_string: string;
  properties?: Props;
}

export interface Builder {
  builderid: number;
  name: string;
  tags: string[];
  masterids?: number[];
  projectid?: number | null;
  description?: string | null;
}

export interface WorkerEntity {
  workerid: number;
  name: string;
  connected_to: { masterid: number }[];
  configured_on: { masterid: number; builderid: number }[];
  workerinfo: Record<string, string | null>;
  paused: boolean;
  pause_reason?: string | null;
  graceful: boolean;
  latent_state?: string | null;
}

export interface SourceStamp {
  ssid: number;
  revision: string | null;
  branch: string | null;
  repository: string;
  project: string;
  codebase: string;
  created_at?: number;
}

export interface Change {
  changeid: number;
  author: string;
  committer?: string | null;
  files: string[];
  comments: string;
  revision: string | null;
  when_timestamp: number;
  branch: string | null;
  category?: string | null;
  revlink: string | null;
  properties?: Props;
  repository: string;
  project: string;
  codebase: string;
  sourcestamp: SourceStamp;
}

export interface BuildRequest {
  buildrequestid: number;
  buildsetid: number;
  builderid: number;
  priority: number;
  claimed: boolean;
  claimed_at: number | null;
  claimed_by_masterid: number | null;
  complete: boolean;
  results: number | null;
  submitted_at: number;
  complete_at: number | null;
  waited_for: boolean;
  properties?: Props | null;
}

export interface Buildset {
  bsid: number;
  external_idstring: string | null;
  reason: string;
  submitted_at: number;
  complete: boolean;
  complete_at: number | null;
  results: number | null;
  sourcestamps: SourceStamp[];
  parent_buildid?: number | null;
}

export interface Master {
  masterid: number;
  name: string;
  active: boolean;
  last_active: number;
}

export interface Scheduler {
  schedulerid: number;
  name: string;
  enabled: boolean;
  master: Master | null;
}

export interface Project {
  projectid: number;
  name: string;
  slug: string;
  description?: string | null;
  description_html?: string | null;
  description_format?: string | null;
}
