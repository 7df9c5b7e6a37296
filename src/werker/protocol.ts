/**
 * The werker ↔ server protocol. The werker reaches the server ONLY through `WerkerServerClient`: in `ocelot up`
 * an in-process implementation calls the store directly; a remote werker uses the HTTP implementation. Same
 * werker code either way.
 *
 * Every write carries the lease (build, attempt, token) and is refused with LeaseLostError when that lease is
 * no longer current (expired and re-queued, cancelled and finished, or handed back). That fencing is what makes
 * "a lost werker cannot write" true.
 */
import type { BuildEvent } from '../events/model.js';
import type { AttemptState, StageKind, StageState } from '../store/schema.js';

export interface Lease {
  buildId: number;
  attempt: number;
  token: string;
}

export interface WerkerInfo {
  id: string;
  name: string;
  tags: string[];
  /** Runtimes this werker can run right now; a docker werker whose engine is down advertises only host. */
  runtimes: string[];
  slots: number;
  version: string;
}

export interface ClaimedBuild {
  lease: Lease;
  leaseExpiresAt: number;
  event: BuildEvent;
  buildId: number;
  /** Labels learned from an earlier plan of this build; empty until planned. */
  requires: string[];
  /** Hash of the newest PASSED build of this repo and branch, for GIT_PREVIOUS_SUCCESSFUL_COMMIT. */
  previousSuccessfulCommit: string | null;
  keepContainer: boolean;
}

export interface StageRecord {
  ordinal: number;
  name: string;
  kind: StageKind;
  state: StageState;
  reason?: string | null;
  exitCode?: number | null;
  startedAt?: number | null;
  finishedAt?: number | null;
  messages?: string[];
}

export interface LogChunk {
  seq: number;
  stageOrdinal: number;
  /** Offset of the chunk in the attempt's log stream. */
  offset: number;
  /**
   * The bytes. Left empty for an index-only chunk (`length` set): the embedded werker spools straight into the
   * store's own log file, so only the index has to travel and nothing is read back or copied.
   */
  data: Uint8Array;
  /** Set only on index-only chunks: how many bytes at `offset` the chunk covers. */
  length?: number;
}

/** Bytes a chunk covers, whether it carries them or only indexes them. */
export function chunkLength(c: LogChunk): number {
  return c.length ?? c.data.byteLength;
}

export type BuildResultState = Extract<AttemptState, 'PASSED' | 'FAILED' | 'CANCELLED' | 'FAILED_PRESTART'> | 'SKIPPED';

/**
 * What a werker tells the server about its attempt, in one fenced call: stage rows that changed (upserted by
 * ordinal), new log chunks, and, last, the result. Any part may be missing. The werker batches its reports
 * (attempt-reporter.ts), so a short build costs one or two of them in all.
 */
export interface AttemptReport {
  stages?: StageRecord[];
  chunks?: LogChunk[];
  /** Ends the attempt and the build, after the stages and chunks of the same report are stored. */
  finish?: { state: BuildResultState; reason: string | null };
}

export interface RenewResult {
  /** The server asked for the build to stop (`ocelot kill`). */
  cancelRequested: boolean;
  leaseExpiresAt: number;
}

/** 'offline': a werker stopping gracefully says goodbye, so `ocelot werkers` shows it gone at once. */
export type WerkerStatus = 'online' | 'offline';

/**
 * Werker names, tags and runtimes: what `ocelot werkers`, build reasons and machineTag routing show and match.
 * Conservative on purpose (no spaces, no control or formatting characters): checked by the server at
 * registration and claim (400) and by `ocelot werker` at start (usage error).
 */
export const WERKER_LABEL_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;
export const WERKER_LABEL_RULE = "1 to 64 characters: letters, digits, '.', '_', ':' or '-', starting with a letter or digit";

/** Why this werker name/tag/runtime is not allowed, or null when it is. The value is quoted, control characters escaped. */
export function werkerLabelProblem(what: 'name' | 'tag' | 'runtime', value: string): string | null {
  if (WERKER_LABEL_PATTERN.test(value)) return null;
  return `werker ${what} ${quoted(value)} is not allowed: werker names, tags and runtimes must be ${WERKER_LABEL_RULE}`;
}

/** The first problem with what a werker says of itself (name, tags, runtimes, and no control characters in id or version). */
export function werkerInfoProblem(w: Pick<WerkerInfo, 'id' | 'name' | 'tags' | 'runtimes' | 'version'>): string | null {
  for (const [what, value] of [['id', w.id], ['version', w.version]] as const) {
    if (CONTROL_CHARS.test(value)) return `werker ${what} ${quoted(value)} is not allowed: it contains control characters`;
  }
  return (
    werkerLabelProblem('name', w.name) ??
    w.tags.reduce<string | null>((p, t) => p ?? werkerLabelProblem('tag', t), null) ??
    w.runtimes.reduce<string | null>((p, r) => p ?? werkerLabelProblem('runtime', r), null)
  );
}

/** C0 and C1 controls, DEL, line/paragraph separators and bidi overrides: nothing a terminal should get raw. */
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

/** A value as a JSON string, with every character of CONTROL_CHARS escaped (JSON leaves DEL, C1 and bidi raw). */
function quoted(value: string): string {
  return JSON.stringify(value).replace(new RegExp(CONTROL_CHARS.source, 'g'), (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * A default werker name from a host name (`os.hostname()`): characters outside the rule become '-', a leading
 * one that is not a letter or digit is dropped, at most 64 are kept; 'werker' if nothing is left.
 */
export function normalizeWerkerName(raw: string): string {
  const cleaned = raw
    .replace(/[^A-Za-z0-9_.:-]+/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 64)
    .replace(/-+$/, '');
  return WERKER_LABEL_PATTERN.test(cleaned) ? cleaned : 'werker';
}

export interface RegisterAnswer {
  /** The server's lease length: the werker renews every third of it, so it must come from the server. */
  leaseMs: number;
}

export class LeaseLostError extends Error {
  override name = 'LeaseLostError';
}

/**
 * The werker id is registered with another, still-live token (409 `werker_id_taken`): a werker id belongs to the
 * token that first registered it, so one werker cannot sign another off or take over its id. Waiting does not heal
 * it either: the werker stops.
 */
export class WerkerIdTakenError extends Error {
  override name = 'WerkerIdTakenError';
  /** The HTTP status it stands for. */
  readonly status = 409;
  constructor(readonly werkerId: string, message = `werker id ${werkerId} is registered with another token`) {
    super(message);
  }
}

/** The server refused the werker's token (revoked or never valid): waiting will not heal it, so the werker stops. */
export class TokenRefusedError extends Error {
  override name = 'TokenRefusedError';
  /** The HTTP status it stands for, as WerkerProtocolError would carry it. */
  readonly status = 401;
}

export interface WerkerServerClient {
  /** Announce (or refresh) this werker: tags, runtimes, slots. Also the heartbeat for `ocelot werkers`. */
  register(werker: WerkerInfo, status?: WerkerStatus): Promise<RegisterAnswer>;
  /**
   * Claim the oldest QUEUED build whose `requires` labels this werker covers; wait up to `waitMs` for one
   * (long-poll / in-process wake-up). Resolves null on timeout or abort.
   */
  claim(werker: WerkerInfo, waitMs: number, signal: AbortSignal): Promise<ClaimedBuild | null>;
  /** Extend the lease; throws LeaseLostError when it is gone. Also tells the werker about a cancel. */
  renew(lease: Lease): Promise<RenewResult>;
  /**
   * This werker cannot run the build (e.g. machineTag it lacks): put it back in the queue, remembering the
   * labels it needs, without counting an attempt.
   */
  handBack(lease: Lease, requires: string[], reason: string): Promise<void>;
  /**
   * Store stage changes and log chunks, and finish the attempt when the report says so, all in one transaction.
   * Idempotent: stages are upserts, chunks are keyed by (build, attempt, seq), and a repeated finish that already
   * landed is recognized by the lease token.
   */
  report(lease: Lease, report: AttemptReport): Promise<void>;
}

/**
 * The same protocol over HTTP (docs/werker-protocol.md): JSON bodies under this prefix, `Authorization: Bearer
 * <werker token>`, a lost lease answered with 409 `{ error: 'lease_lost' }`. Log bytes travel base64-encoded.
 */
export const WERKER_API = '/api/v1/werker';

/** Longest claim long-poll the server holds open; below common proxy read timeouts (nginx: 60 s). */
export const MAX_CLAIM_WAIT_MS = 30_000;

export interface WireLogChunk {
  seq: number;
  stageOrdinal: number;
  offset: number;
  /** base64 */
  data: string;
}

export interface WireAttemptReport {
  stages?: StageRecord[];
  chunks?: WireLogChunk[];
  finish?: { state: BuildResultState; reason: string | null };
}

export function reportToWire(r: AttemptReport): WireAttemptReport {
  return {
    ...(r.stages?.length ? { stages: r.stages } : {}),
    ...(r.chunks?.length ? { chunks: r.chunks.map(chunkToWire) } : {}),
    ...(r.finish ? { finish: r.finish } : {}),
  };
}

export function reportFromWire(r: WireAttemptReport): AttemptReport {
  return {
    ...(r.stages ? { stages: r.stages } : {}),
    ...(r.chunks ? { chunks: r.chunks.map(chunkFromWire) } : {}),
    ...(r.finish ? { finish: r.finish } : {}),
  };
}

export function chunkToWire(c: LogChunk): WireLogChunk {
  return { seq: c.seq, stageOrdinal: c.stageOrdinal, offset: c.offset, data: Buffer.from(c.data.buffer, c.data.byteOffset, c.data.byteLength).toString('base64') };
}

export function chunkFromWire(c: WireLogChunk): LogChunk {
  return { seq: c.seq, stageOrdinal: c.stageOrdinal, offset: c.offset, data: new Uint8Array(Buffer.from(c.data, 'base64')) };
}
