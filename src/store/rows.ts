/**
 * Database rows → the camelCase shapes the rest of Ocelot sees. JSON columns are parsed here and nowhere else;
 * derived figures (queue wait, stage duration) are computed here so every reader agrees on them.
 */
import type { Selectable } from 'kysely';
import type { BuildEvent } from '../events/model.js';
import type { AttemptRow, BuildRow, StageRow } from './store.js';
import type { AttemptsTable, BuildsTable, StagesTable } from './schema.js';

export function parseJsonArray(text: string | null | undefined): string[] {
  if (!text) return [];
  const value: unknown = JSON.parse(text);
  return Array.isArray(value) ? value.map(String) : [];
}

export function toBuildRow(r: Selectable<BuildsTable>): BuildRow {
  return {
    id: Number(r.id),
    forge: r.forge,
    account: r.account,
    repo: r.repo,
    cloneUrl: r.clone_url,
    commit: r.commit_hash,
    branch: r.branch,
    tag: r.tag,
    prNumber: r.pr_number,
    sourceBranch: r.source_branch,
    targetBranch: r.target_branch,
    eventKind: r.event_kind,
    triggeredBy: r.triggered_by,
    pipeline: r.pipeline,
    state: r.state,
    reason: r.reason,
    attempt: r.attempt,
    maxAttempts: r.max_attempts,
    requires: parseJsonArray(r.requires),
    werkerId: r.werker_id,
    cancelRequested: Boolean(r.cancel_requested),
    keepContainer: Boolean(r.keep_container),
    queuedAt: r.queued_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    queueWaitMs: r.started_at == null ? null : r.started_at - r.queued_at,
    event: JSON.parse(r.event) as BuildEvent,
  };
}

export function toStageRow(r: Selectable<StagesTable>): StageRow {
  return {
    buildId: Number(r.build_id),
    attempt: r.attempt,
    ordinal: r.ordinal,
    name: r.name,
    kind: r.kind,
    state: r.state,
    exitCode: r.exit_code,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    durationMs: r.started_at != null && r.finished_at != null ? r.finished_at - r.started_at : null,
    reason: r.reason,
    messages: parseJsonArray(r.messages),
  };
}

export function toAttemptRow(r: Selectable<AttemptsTable>): AttemptRow {
  return {
    buildId: Number(r.build_id),
    attempt: r.attempt,
    werkerId: r.werker_id,
    state: r.state,
    reason: r.reason,
    claimedAt: r.claimed_at,
    finishedAt: r.finished_at,
  };
}
