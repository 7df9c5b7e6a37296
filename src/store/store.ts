/**
 * The Store: every read and write of Ocelot's state goes through here. One implementation over Kysely that runs
 * on SQLite (embedded) and PostgreSQL (distributed) with the same migrations and queries; dialect differences
 * (claim locking, wake-ups) live behind `StoreDialect` in dialect.ts.
 */
import type { BuildEvent } from '../events/model.js';
import type { AttemptReport, ClaimedBuild, Lease, RenewResult, WerkerInfo, WerkerStatus } from '../werker/protocol.js';
import type { AttemptState, BuildState, StageKind, StageState } from './schema.js';

export interface BuildRow {
  id: number;
  forge: string;
  account: string;
  repo: string;
  cloneUrl: string;
  commit: string;
  branch: string | null;
  tag: string | null;
  prNumber: number | null;
  sourceBranch: string | null;
  targetBranch: string | null;
  eventKind: string;
  triggeredBy: string;
  pipeline: string;
  state: BuildState;
  reason: string | null;
  attempt: number;
  maxAttempts: number;
  requires: string[];
  werkerId: string | null;
  cancelRequested: boolean;
  keepContainer: boolean;
  queuedAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  /** startedAt − queuedAt, null until started. */
  queueWaitMs: number | null;
  event: BuildEvent;
}

export interface StageRow {
  buildId: number;
  attempt: number;
  ordinal: number;
  name: string;
  kind: StageKind;
  state: StageState;
  exitCode: number | null;
  startedAt: number | null;
  finishedAt: number | null;
  durationMs: number | null;
  reason: string | null;
  messages: string[];
}

export interface AttemptRow {
  buildId: number;
  attempt: number;
  werkerId: string;
  state: AttemptState;
  reason: string | null;
  claimedAt: number;
  finishedAt: number | null;
}

export interface StoredChunk {
  seq: number;
  stageOrdinal: number;
  offset: number;
  data: Uint8Array;
}

export interface BuildFilter {
  forge?: string;
  account?: string;
  /** `acct/repo` glob, `*` wildcard (e.g. `acct/orch*`). */
  acctRepoGlob?: string;
  /** Commit hash prefix. */
  hashPrefix?: string;
  limit?: number;
}

export interface NewBuildOptions {
  /** Initial state: QUEUED normally; SKIPPED (with reason) for [skip ci] and the like. */
  state?: 'QUEUED' | 'SKIPPED';
  reason?: string;
  /** How many times the build may lose its werker before it fails (default 2). Hand-backs do not count. */
  maxAttempts?: number;
  /** Pipeline file name shown with the build (default `ocelot.yml`). */
  pipeline?: string;
}

export interface DeliveryAnswer {
  outcome: 'build' | 'ignore';
  reason?: string;
  buildIds?: number[];
}

export interface WerkerTokenRow {
  id: number;
  name: string;
  createdAt: number;
  revokedAt: number | null;
}

/** What a werker says of itself (WerkerInfo), plus what the server knows of it. */
export interface WerkerRow extends WerkerInfo {
  status: string;
  startedAt: number;
  lastSeenAt: number;
  /** Builds this werker holds a lease on right now. */
  running: number[];
}

export interface Store {
  migrate(): Promise<void>;
  close(): Promise<void>;

  // --- intake ---------------------------------------------------------------------------------------------
  /**
   * Record a webhook delivery and its builds in ONE transaction. If (forge, deliveryId) was seen before, nothing
   * is written and the earlier answer is returned with `duplicate: true`.
   */
  recordDelivery(
    forge: string,
    deliveryId: string | undefined,
    builds: Array<{ event: BuildEvent; options?: NewBuildOptions }>,
    ignoredReason?: string,
  ): Promise<{ duplicate: boolean; answer: DeliveryAnswer }>;
  /** Create one build (CLI trigger, API). */
  createBuild(event: BuildEvent, options?: NewBuildOptions): Promise<BuildRow>;
  /** Repositories Ocelot has seen (for `ocelot trigger`). */
  findRepo(acctRepo: string): Promise<{ forge: string; account: string; repo: string; cloneUrl: string } | null>;

  // --- reads ------------------------------------------------------------------------------------------------
  getBuild(id: number): Promise<BuildRow | null>;
  listBuilds(filter: BuildFilter): Promise<BuildRow[]>;
  /** Distinct (commit, account, repo) whose hash starts with `prefix`, newest first. */
  commitsByPrefix(prefix: string, limit?: number): Promise<Array<{ commit: string; account: string; repo: string; forge: string }>>;
  /** Stages of an attempt (default: the build's current attempt), ordered by ordinal. */
  getStages(buildId: number, attempt?: number): Promise<StageRow[]>;
  getAttempts(buildId: number): Promise<AttemptRow[]>;
  /** Log chunks with seq >= fromSeq, in seq order, at most `limit`. */
  readLogs(buildId: number, attempt: number, fromSeq: number, limit?: number): Promise<StoredChunk[]>;

  // --- control ----------------------------------------------------------------------------------------------
  /**
   * Ask a build to stop. QUEUED (or unowned) builds end CANCELLED here and now; RUNNING ones get
   * cancel_requested and the werker stops them on its next renew. Returns the build after the change.
   */
  requestCancel(buildId: number, reason: string): Promise<BuildRow | null>;
  /**
   * Recover builds whose lease expired: record the attempt LOST with the reason, then re-queue (attempt budget
   * left) or fail the build; a build whose cancel was requested ends CANCELLED instead. Returns what was done, for logs and metrics.
   */
  expireLeases(now?: number, leaseMs?: number): Promise<Array<{ buildId: number; attempt: number; action: 'requeued' | 'failed' | 'cancelled' }>>;

  // --- werker side (fenced by lease) -------------------------------------------------------------------------
  /**
   * Register a werker, or refresh it (the heartbeat). `owner` is who asks (werkers.ts: a werker token's sha256,
   * ADMIN_OWNER, LOCAL_OWNER): a werker id belongs to the owner that first registered it, and another owner is
   * refused with WerkerIdTakenError while that one is live (nothing is written). Without `owner`: unchecked.
   */
  registerWerker(werker: WerkerInfo, status?: WerkerStatus, owner?: string): Promise<void>;
  /**
   * Claim the oldest QUEUED build this werker's labels cover; null when none. Never waits. With `owner`, a werker
   * id held by another live owner claims nothing (WerkerIdTakenError).
   */
  claimNext(werker: WerkerInfo, leaseMs: number, owner?: string): Promise<ClaimedBuild | null>;
  renew(lease: Lease, leaseMs: number): Promise<RenewResult>;
  handBack(lease: Lease, requires: string[], reason: string): Promise<void>;
  /**
   * The werker's only write: stages, log chunks and (optionally) the result of an attempt in ONE fenced
   * transaction (report.ts; one statement on PostgreSQL, postgres-fast-paths.ts).
   */
  report(lease: Lease, report: AttemptReport): Promise<void>;

  // --- werker access and directory (distributed mode) ------------------------------------------------------
  /** Issue a werker token; only its sha256 is stored, the token is returned once. */
  createWerkerToken(name: string): Promise<{ id: number; name: string; token: string }>;
  listWerkerTokens(): Promise<WerkerTokenRow[]>;
  /** Revoke by id or name; returns what was revoked (empty: nothing live matched). */
  revokeWerkerToken(idOrName: string): Promise<WerkerTokenRow[]>;
  /** Is this a live (not revoked) werker token? */
  checkWerkerToken(token: string): Promise<boolean>;
  listWerkers(): Promise<WerkerRow[]>;
  /** Werker id → name, for the werkers given (showing who ran a build without listing every werker). */
  werkerNames(ids: string[]): Promise<Map<string, string>>;
  /** How the claim behind this lease ended (or RUNNING); null if there never was such a claim. */
  attemptOutcome(lease: Lease): Promise<AttemptState | null>;

  // --- wake-ups (fired after commit; in-process on SQLite, LISTEN/NOTIFY on PostgreSQL) ------------------------
  /** A build became claimable. Returns an unsubscribe function. */
  onQueued(listener: () => void): () => void;
  /** New log chunks or a state change for a build (log followers wait on this). */
  onBuildActivity(buildId: number, listener: () => void): () => void;
}

export interface StoreConfig {
  /** `sqlite:/path/to/ocelot.db` | `postgres://…` */
  url: string;
  /**
   * Embedded mode: keep log bytes in files under this directory (`<dir>/<build>/<attempt>.log`) instead of in
   * the database; log_chunks rows then index into the file. The in-process werker spools into the very same
   * file, so a log is written once. See log-files.ts.
   */
  logsDir?: string;
  /** Run migrations while opening (default true). They are idempotent and safe to run from several replicas. */
  migrate?: boolean;
}
