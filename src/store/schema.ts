/**
 * Table shapes as Kysely sees them. The same migrations create these tables on SQLite and PostgreSQL, so column
 * types stay portable: integers, text, and timestamps as integer milliseconds since the epoch (UTC, no zone
 * ambiguity, the original's biggest storage bug). JSON is stored as text.
 */
import type { ColumnType, Generated } from 'kysely';

/** Milliseconds since the epoch. pg returns int8 as string unless a type parser is set; the store sets one. */
export type Millis = number;

export type BuildState =
  | 'QUEUED'
  | 'RUNNING'
  | 'PASSED'
  | 'FAILED'
  | 'FAILED_PRESTART'
  | 'CANCELLED'
  | 'SKIPPED';

export const FINAL_BUILD_STATES: readonly BuildState[] = ['PASSED', 'FAILED', 'FAILED_PRESTART', 'CANCELLED', 'SKIPPED'];

export type StageState = 'PENDING' | 'RUNNING' | 'PASSED' | 'FAILED' | 'SKIPPED' | 'CANCELLED';

/** System stages come before the user's; every failure point has a row. */
export type StageKind = 'system' | 'user';

/**
 * SKIPPED: the werker planned the build after cloning and nothing was to run (e.g. [skip ci] seen only then).
 */
export type AttemptState =
  | 'RUNNING'
  | 'PASSED'
  | 'FAILED'
  | 'CANCELLED'
  | 'LOST'
  | 'HANDED_BACK'
  | 'FAILED_PRESTART'
  | 'SKIPPED';

export interface BuildsTable {
  id: Generated<number>;
  forge: string;
  account: string;
  repo: string;
  clone_url: string;
  commit_hash: string;
  branch: string | null;
  tag: string | null;
  pr_number: number | null;
  source_branch: string | null;
  target_branch: string | null;
  event_kind: string;
  triggered_by: string;
  pipeline: string;
  state: BuildState;
  reason: string | null;
  /** Current attempt number; 0 until first claimed. */
  attempt: number;
  max_attempts: number;
  /** Labels a werker must have, as JSON array text, e.g. ["tag:mac","runtime:docker"]. Learned when planned. */
  requires: string;
  werker_id: string | null;
  lease_token: string | null;
  lease_expires_at: Millis | null;
  cancel_requested: number;
  keep_container: number;
  /** The full BuildEvent as JSON (commit messages and changed files used by triggers). */
  event: string;
  delivery_id: string | null;
  queued_at: Millis;
  started_at: Millis | null;
  finished_at: Millis | null;
}

/**
 * One row per claim. A hand-back gives its attempt number back (hand-backs do not eat the retry budget), so
 * (build_id, attempt) is not unique: the next claim reuses the number. `id` orders the claims and the lease
 * token identifies the claim a fenced write belongs to.
 */
export interface AttemptsTable {
  id: Generated<number>;
  build_id: number;
  attempt: number;
  werker_id: string;
  lease_token: string;
  state: AttemptState;
  reason: string | null;
  claimed_at: Millis;
  finished_at: Millis | null;
}

export interface StagesTable {
  build_id: number;
  attempt: number;
  ordinal: number;
  name: string;
  kind: StageKind;
  state: StageState;
  exit_code: number | null;
  started_at: Millis | null;
  finished_at: Millis | null;
  reason: string | null;
  /** JSON array of strings. */
  messages: string;
}

export interface LogChunksTable {
  build_id: number;
  attempt: number;
  /** Gap-free per (build_id, attempt), starting at 0. */
  seq: number;
  stage_ordinal: number;
  /** Offset of this chunk in the attempt's log stream. */
  byte_offset: Millis;
  length: number;
  /** The bytes, or null when they live in the embedded log file at byte_offset. */
  data: Uint8Array | null;
  created_at: Millis;
}

export interface DeliveriesTable {
  forge: string;
  delivery_id: string;
  received_at: Millis;
  /** JSON: { outcome, reason?, buildIds? } — the answer given, replayed on redelivery. */
  response: string;
}

export interface ReposTable {
  forge: string;
  account: string;
  repo: string;
  clone_url: string;
  last_seen_at: Millis;
}

export interface WerkersTable {
  id: string;
  name: string;
  /** JSON array. */
  tags: string;
  /** JSON array of runtimes this werker can run now, e.g. ["host","docker"]. */
  runtimes: string;
  slots: number;
  version: string;
  status: string;
  started_at: Millis;
  last_seen_at: Millis;
  /** Who registered this werker id first (werkers.ts): a werker token's sha256, 'admin', 'local', or null (unowned). */
  owner: string | null;
}

export interface WerkerTokensTable {
  id: Generated<number>;
  name: string;
  /** sha256 of the token; the token itself is shown once at creation. */
  token_hash: string;
  created_at: Millis;
  revoked_at: Millis | null;
}

export interface Database {
  builds: BuildsTable;
  attempts: AttemptsTable;
  stages: StagesTable;
  log_chunks: LogChunksTable;
  deliveries: DeliveriesTable;
  repos: ReposTable;
  werkers: WerkersTable;
  werker_tokens: WerkerTokensTable;
}

export type Timestamp = ColumnType<number, number, number>;
