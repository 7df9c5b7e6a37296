/**
 * The queue and its leases: claim, renew, hand back, finish, expire, cancel. A claim gives the werker a lease
 * (build, attempt, random token, expiry); every later write of that werker is fenced by it, inside the same
 * transaction as the write, so a werker that lost its build can never write into it again.
 *
 * started_at is the FIRST time the build was claimed and is kept across re-queues after a lost werker, so the
 * queue wait (started_at − queued_at) measures how long the build waited before anything picked it up. A
 * hand-back undoes its own claim completely (attempt number and, if it set it, started_at): the build was not
 * really started.
 */
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import {
  LeaseLostError,
  WerkerIdTakenError,
  type BuildResultState,
  type ClaimedBuild,
  type Lease,
  type RenewResult,
  type WerkerInfo,
} from '../werker/protocol.js';
import type { BuildEvent } from '../events/model.js';
import type { StoreDialect } from './dialect.js';
import type { AttemptState, Database } from './schema.js';
import type { AttemptRow, BuildRow } from './store.js';
import { getBuild } from './builds.js';
import { parseJsonArray, toAttemptRow } from './rows.js';
import { idTakenByAnother, idTakenReason } from './werkers.js';

/** How many queued builds one claim reads per round trip before it moves further down the queue. */
const CLAIM_BATCH = 100;

/** Labels a werker offers: `tag:<t>` per tag, `runtime:<r>` per runtime it can run right now. */
export function werkerLabels(werker: WerkerInfo): Set<string> {
  return new Set([...werker.tags.map((t) => `tag:${t}`), ...werker.runtimes.map((r) => `runtime:${r}`)]);
}

/**
 * With `owner`, a werker id held by another live owner (werkers.ts) claims nothing: WerkerIdTakenError, checked in
 * the claim's own transaction.
 */
export async function claimNext(d: StoreDialect, werker: WerkerInfo, leaseMs: number, owner?: string): Promise<ClaimedBuild | null> {
  const labels = werkerLabels(werker);
  return d.write(async (trx) => {
    if (owner !== undefined && (await idTakenByAnother(trx, werker.id, owner))) {
      throw new WerkerIdTakenError(werker.id, idTakenReason(werker.id));
    }
    let afterId = 0;
    for (;;) {
      // Candidates are read without locks and filtered by labels here (requires is JSON, not portable SQL);
      // only the chosen row is then locked. Locking the whole batch with SKIP LOCKED would make every other
      // claimer skip all of it, so parallel werkers would find "nothing" while builds wait.
      const rows = await trx
        .selectFrom('builds')
        .select(['id', 'requires'])
        .where('state', '=', 'QUEUED')
        .where('id', '>', afterId)
        .orderBy('id')
        .limit(CLAIM_BATCH)
        .execute();
      for (const r of rows) {
        if (!parseJsonArray(r.requires).every((label) => labels.has(label))) continue;
        let lock = trx.selectFrom('builds').select('id').where('id', '=', r.id).where('state', '=', 'QUEUED');
        // Another claimer holds this row until it commits: skip it rather than wait behind it. The state is
        // checked again on the locked row (PostgreSQL re-evaluates WHERE on the newest version).
        if (d.rowLocks) lock = lock.forUpdate().skipLocked();
        if (await lock.executeTakeFirst()) return takeBuild(trx, Number(r.id), werker, leaseMs);
      }
      if (rows.length < CLAIM_BATCH) return null;
      afterId = Number(rows[rows.length - 1]!.id);
    }
  });
}

async function takeBuild(trx: Kysely<Database>, buildId: number, werker: WerkerInfo, leaseMs: number): Promise<ClaimedBuild> {
  const now = Date.now();
  const token = randomUUID();
  const expires = now + leaseMs;
  const before = await trx
    .selectFrom('builds')
    .select(['attempt', 'started_at'])
    .where('id', '=', buildId)
    .executeTakeFirstOrThrow();
  const attempt = before.attempt + 1;
  const b = await trx
    .updateTable('builds')
    .set({
      state: 'RUNNING',
      attempt,
      werker_id: werker.id,
      lease_token: token,
      lease_expires_at: expires,
      started_at: before.started_at ?? now,
    })
    .where('id', '=', buildId)
    .returningAll()
    .executeTakeFirstOrThrow();
  await trx
    .insertInto('attempts')
    .values({
      build_id: buildId,
      attempt,
      werker_id: werker.id,
      lease_token: token,
      state: 'RUNNING',
      reason: null,
      claimed_at: now,
      finished_at: null,
    })
    .execute();

  let previousSuccessfulCommit: string | null = null;
  if (b.branch != null) {
    const prev = await trx
      .selectFrom('builds')
      .select('commit_hash')
      .where('forge', '=', b.forge)
      .where('account', '=', b.account)
      .where('repo', '=', b.repo)
      .where('branch', '=', b.branch)
      .where('state', '=', 'PASSED')
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst();
    previousSuccessfulCommit = prev?.commit_hash ?? null;
  }
  return {
    lease: { buildId, attempt, token },
    leaseExpiresAt: expires,
    event: JSON.parse(b.event) as BuildEvent,
    buildId,
    requires: parseJsonArray(b.requires),
    previousSuccessfulCommit,
    keepContainer: Boolean(b.keep_container),
  };
}

export interface FencedBuild {
  id: number;
  attempt: number;
  cancelRequested: boolean;
  reason: string | null;
  startedAt: number | null;
}

/**
 * Check that `lease` is the build's current lease, the build is RUNNING and the lease has not expired; throw
 * LeaseLostError otherwise. Called first in the writing transaction; on PostgreSQL it locks the build row
 * (exclusively for writes to the build row itself, shared for stage and log writes) so an expiry sweep or a
 * cancel cannot slip in between the check and the write.
 */
export async function fence(d: StoreDialect, trx: Kysely<Database>, lease: Lease, lock: 'update' | 'share'): Promise<FencedBuild> {
  let q = trx
    .selectFrom('builds')
    .select(['id', 'state', 'attempt', 'lease_token', 'lease_expires_at', 'cancel_requested', 'reason', 'started_at'])
    .where('id', '=', lease.buildId);
  if (d.rowLocks) q = lock === 'update' ? q.forUpdate() : q.forShare();
  const row = await q.executeTakeFirst();
  const lost = (why: string) => new LeaseLostError(`build ${lease.buildId} attempt ${lease.attempt}: ${why}`);
  if (!row) throw lost('no such build');
  if (row.attempt !== lease.attempt || row.lease_token !== lease.token) {
    throw lost(`lease is no longer current (build is ${row.state}, attempt ${row.attempt})`);
  }
  if (row.state !== 'RUNNING') throw lost(`build is ${row.state}`);
  // An expired lease is lost even before the sweep re-queues it: the sweep may run at any moment, and a
  // werker that could not renew in time must stop rather than race it.
  if (row.lease_expires_at == null || row.lease_expires_at < Date.now()) {
    throw lost(`lease expired at ${new Date(row.lease_expires_at ?? 0).toISOString()}`);
  }
  return {
    id: Number(row.id),
    attempt: row.attempt,
    cancelRequested: Boolean(row.cancel_requested),
    reason: row.reason,
    startedAt: row.started_at,
  };
}

export async function renew(d: StoreDialect, lease: Lease, leaseMs: number): Promise<RenewResult> {
  return d.write(async (trx) => {
    const b = await fence(d, trx, lease, 'update');
    const expires = Date.now() + leaseMs;
    await trx.updateTable('builds').set({ lease_expires_at: expires }).where('id', '=', b.id).execute();
    return { cancelRequested: b.cancelRequested, leaseExpiresAt: expires };
  });
}

/** Close the attempt row of this lease (identified by its token: attempt numbers repeat after a hand-back). */
async function closeAttempt(trx: Kysely<Database>, lease: Lease, state: AttemptState, reason: string | null, now: number) {
  await trx
    .updateTable('attempts')
    .set({ state, reason, finished_at: now })
    .where('build_id', '=', lease.buildId)
    .where('lease_token', '=', lease.token)
    .execute();
}

export async function handBack(
  d: StoreDialect,
  lease: Lease,
  requires: string[],
  reason: string,
  onDiscardLogs: (buildId: number, attempt: number) => Promise<void>,
): Promise<void> {
  await d.write(async (trx, tx) => {
    const b = await fence(d, trx, lease, 'update');
    const now = Date.now();
    await closeAttempt(trx, lease, 'HANDED_BACK', reason, now);
    const claim = await trx
      .selectFrom('attempts')
      .select('claimed_at')
      .where('build_id', '=', b.id)
      .where('lease_token', '=', lease.token)
      .executeTakeFirstOrThrow();
    // The attempt number is given back, so the next claim reuses it: what this claim wrote under it (system
    // stages, clone output) must go, or it would mix with the next claim's rows and block its log seqs.
    await trx.deleteFrom('stages').where('build_id', '=', b.id).where('attempt', '=', b.attempt).execute();
    await trx.deleteFrom('log_chunks').where('build_id', '=', b.id).where('attempt', '=', b.attempt).execute();
    await onDiscardLogs(b.id, b.attempt);
    // Cancelled while this werker held it: there is no one left to stop, so it ends here.
    const cancelled = b.cancelRequested;
    await trx
      .updateTable('builds')
      .set({
        state: cancelled ? 'CANCELLED' : 'QUEUED',
        attempt: b.attempt - 1,
        requires: JSON.stringify(requires),
        werker_id: null,
        lease_token: null,
        lease_expires_at: null,
        started_at: b.startedAt === claim.claimed_at ? null : b.startedAt,
        ...(cancelled ? { finished_at: now } : {}),
      })
      .where('id', '=', b.id)
      .execute();
    if (!cancelled) await tx.queued();
    await tx.buildActivity(b.id);
  });
}

/** End the attempt and the build, inside the caller's transaction that fenced `b` with an update lock. */
export async function finishFenced(trx: Kysely<Database>, lease: Lease, b: FencedBuild, state: BuildResultState, reason: string | null): Promise<void> {
  const now = Date.now();
  await closeAttempt(trx, lease, state, reason, now);
  await trx
    .updateTable('builds')
    .set({
      state,
      // A cancelled build keeps the reason given with `ocelot kill` unless the werker says more.
      reason: reason ?? (state === 'CANCELLED' ? b.reason : null),
      finished_at: now,
      lease_token: null,
      lease_expires_at: null,
    })
    .where('id', '=', b.id)
    .execute();
}

export async function expireLeases(
  d: StoreDialect,
  now: number = Date.now(),
  leaseMs?: number,
): Promise<Array<{ buildId: number; attempt: number; action: 'requeued' | 'failed' | 'cancelled' }>> {
  // `now` is the cut-off; callers that recover everything (ocelot up at start) pass a far-future cut-off, which
  // must not become a finish time: what gets written is never later than the clock.
  const at = Math.min(now, Date.now());
  return d.write(async (trx, tx) => {
    let q = trx
      .selectFrom('builds')
      .selectAll()
      .where('state', '=', 'RUNNING')
      .where('lease_expires_at', '<', now)
      .orderBy('id');
    // A build whose row is locked is being written by its werker right now: the next sweep gets it.
    if (d.rowLocks) q = q.forUpdate().skipLocked();
    const expired = await q.execute();
    const done: Array<{ buildId: number; attempt: number; action: 'requeued' | 'failed' | 'cancelled' }> = [];
    for (const b of expired) {
      const buildId = Number(b.id);
      const werker = b.werker_id
        ? await trx.selectFrom('werkers').select('name').where('id', '=', b.werker_id).executeTakeFirst()
        : undefined;
      const who = werker?.name ?? b.werker_id ?? 'unknown';
      // Every renewal sets the expiry to renewal + lease length, so the last renewal is the expiry minus the lease
      // (the lease length is the same on every replica). Without it, the expiry is the best time there is.
      const expiredAt = b.lease_expires_at ?? at;
      const lostReason =
        leaseMs !== undefined
          ? `werker ${who} stopped renewing its lease at ${new Date(expiredAt - leaseMs).toISOString()} (it expired at ${new Date(expiredAt).toISOString()})`
          : `werker ${who} stopped renewing its lease at ${new Date(expiredAt).toISOString()} (when it expired)`;
      if (b.lease_token) await closeAttempt(trx, { buildId, attempt: b.attempt, token: b.lease_token }, 'LOST', lostReason, at);
      await trx
        .updateTable('stages')
        .set({ state: 'FAILED', reason: 'werker lost', finished_at: at })
        .where('build_id', '=', buildId)
        .where('attempt', '=', b.attempt)
        .where('state', '=', 'RUNNING')
        .execute();

      const lostCount = await trx
        .selectFrom('attempts')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('build_id', '=', buildId)
        .where('state', '=', 'LOST')
        .executeTakeFirstOrThrow();
      const released = { werker_id: null, lease_token: null, lease_expires_at: null };
      let action: 'requeued' | 'failed' | 'cancelled';
      if (b.cancel_requested) {
        await trx
          .updateTable('builds')
          .set({ ...released, state: 'CANCELLED', reason: b.reason ?? 'cancelled', finished_at: at })
          .where('id', '=', buildId)
          .execute();
        action = 'cancelled';
      } else if (b.attempt < b.max_attempts) {
        // `requires` stays: the next werker must still cover what the plan asked for.
        await trx.updateTable('builds').set({ ...released, state: 'QUEUED' }).where('id', '=', buildId).execute();
        await tx.queued();
        action = 'requeued';
      } else {
        await trx
          .updateTable('builds')
          .set({
            ...released,
            state: 'FAILED',
            reason: `lost its werker ${Number(lostCount.n)} times: ${lostReason}`,
            finished_at: at,
          })
          .where('id', '=', buildId)
          .execute();
        action = 'failed';
      }
      await tx.buildActivity(buildId);
      done.push({ buildId, attempt: b.attempt, action });
    }
    return done;
  });
}

export async function requestCancel(d: StoreDialect, buildId: number, reason: string): Promise<BuildRow | null> {
  const found = await d.write(async (trx, tx) => {
    let q = trx.selectFrom('builds').select(['id', 'state']).where('id', '=', buildId);
    if (d.rowLocks) q = q.forUpdate();
    const b = await q.executeTakeFirst();
    if (!b) return false;
    const now = Date.now();
    if (b.state === 'QUEUED') {
      await trx
        .updateTable('builds')
        .set({ state: 'CANCELLED', reason, finished_at: now, werker_id: null, lease_token: null, lease_expires_at: null })
        .where('id', '=', buildId)
        .execute();
      await tx.buildActivity(buildId);
    } else if (b.state === 'RUNNING') {
      // The werker holding it learns on its next renew and ends it CANCELLED; if it is gone, the expiry sweep
      // ends it CANCELLED instead of re-queueing it.
      await trx.updateTable('builds').set({ cancel_requested: 1, reason }).where('id', '=', buildId).execute();
      await tx.buildActivity(buildId);
    }
    return true;
  });
  return found ? getBuild(d.db, buildId) : null;
}

export async function getAttempts(db: Kysely<Database>, buildId: number): Promise<AttemptRow[]> {
  const rows = await db.selectFrom('attempts').selectAll().where('build_id', '=', buildId).orderBy('id').execute();
  return rows.map(toAttemptRow);
}
