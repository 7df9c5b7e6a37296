/**
 * The JSON shapes the API returns (and the CLI's --json prints). Kept separate from store rows so the API is a
 * deliberate contract: versioned under /api/v1, no secrets, no internal columns (lease tokens never leave).
 */
import type { AttemptRow, BuildRow, StageRow, WerkerRow, WerkerTokenRow } from '../store/store.js';

/** Werker id → name, for views that name the werker (`ocelot status`). */
export type WerkerNames = ReadonlyMap<string, string>;

export function buildView(b: BuildRow, names?: WerkerNames) {
  return {
    id: b.id,
    forge: b.forge,
    account: b.account,
    repo: b.repo,
    acctRepo: `${b.account}/${b.repo}`,
    commit: b.commit,
    branch: b.branch,
    tag: b.tag,
    pullRequest: b.prNumber === null ? null : { number: b.prNumber, sourceBranch: b.sourceBranch, targetBranch: b.targetBranch },
    event: b.eventKind,
    triggeredBy: b.triggeredBy,
    state: b.state,
    reason: b.reason,
    attempt: b.attempt,
    maxAttempts: b.maxAttempts,
    requires: b.requires,
    werkerId: b.werkerId,
    werkerName: b.werkerId ? (names?.get(b.werkerId) ?? null) : null,
    cancelRequested: b.cancelRequested,
    queuedAt: iso(b.queuedAt),
    startedAt: iso(b.startedAt),
    finishedAt: iso(b.finishedAt),
    queueWaitMs: b.queueWaitMs,
    durationMs: b.startedAt !== null && b.finishedAt !== null ? b.finishedAt - b.startedAt : null,
  };
}

export function stageView(s: StageRow) {
  return {
    ordinal: s.ordinal,
    name: s.name,
    kind: s.kind,
    state: s.state,
    exitCode: s.exitCode,
    startedAt: iso(s.startedAt),
    finishedAt: iso(s.finishedAt),
    durationMs: s.durationMs,
    reason: s.reason,
    messages: s.messages,
  };
}

export function attemptView(a: AttemptRow, names?: WerkerNames) {
  return {
    attempt: a.attempt,
    werkerId: a.werkerId,
    werkerName: names?.get(a.werkerId) ?? null,
    state: a.state,
    reason: a.reason,
    claimedAt: iso(a.claimedAt),
    finishedAt: iso(a.finishedAt),
  };
}

/** A werker is shown online while its heartbeats (every 5 s) keep arriving; three missed ones mark it gone. */
export const WERKER_ONLINE_MS = 15_000;

export function werkerView(w: WerkerRow, now: number = Date.now()) {
  return {
    id: w.id,
    name: w.name,
    tags: w.tags,
    runtimes: w.runtimes,
    slots: w.slots,
    version: w.version,
    // A werker that said goodbye (graceful stop) is gone at once, not 15 s later.
    online: w.status !== 'offline' && now - w.lastSeenAt <= WERKER_ONLINE_MS,
    startedAt: iso(w.startedAt),
    lastSeenAt: iso(w.lastSeenAt),
    running: w.running,
  };
}

export function werkerTokenView(t: WerkerTokenRow) {
  return { id: t.id, name: t.name, createdAt: iso(t.createdAt), revokedAt: iso(t.revokedAt) };
}

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

export type BuildView = ReturnType<typeof buildView>;
export type StageView = ReturnType<typeof stageView>;
export type AttemptView = ReturnType<typeof attemptView>;
export type WerkerView = ReturnType<typeof werkerView>;
export type WerkerTokenView = ReturnType<typeof werkerTokenView>;
