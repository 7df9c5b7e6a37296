/**
 * The two statements every build runs through on a busy fleet, each ONE statement on PostgreSQL: the claim and
 * the werker's report. The portable versions (queue.ts claimNext, report.ts) do the same in a transaction of six
 * to eight round trips; here data-modifying CTEs do it in one, which is most of what a build costs the server and
 * the database (docs/architecture.md, "Store: one set of queries, two fast paths").
 *
 * Same behaviour, checked by the same store suite on PostgreSQL that the portable versions pass on SQLite:
 * - claim: the oldest QUEUED build whose `requires` the werker's labels cover, locked with FOR UPDATE SKIP
 *   LOCKED so concurrent claimers pass each other by; the label test is jsonb containment in SQL, so only the
 *   one chosen row is ever locked. The werker id's owner (werkers.ts) is checked in the same statement: an id
 *   held by another live token picks nothing, and the one row the statement always returns says so.
 * - report: every write hangs off the fenced build row (`f`), locked FOR SHARE (FOR UPDATE when finishing):
 *   when the lease is not current, `f` is empty and nothing at all is written; the reason is then looked up
 *   with the portable fence, which says why.
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { AttemptReport, ClaimedBuild, Lease, WerkerInfo } from '../werker/protocol.js';
import { LeaseLostError, WerkerIdTakenError, chunkLength } from '../werker/protocol.js';
import type { BuildEvent } from '../events/model.js';
import type { StoreDialect } from './dialect.js';
import { fence, werkerLabels } from './queue.js';
import { parseJsonArray } from './rows.js';
import { latestByOrdinal, stageValues } from './stages.js';
import { idTakenReason, ownerIsLive } from './werkers.js';

const BUILD_CHANNEL = 'ocelot_build';

interface ClaimRow {
  /** The werker id is held by another live owner: nothing was claimed (the other columns are null). */
  refused: boolean;
  id: number | null;
  attempt: number;
  event: string;
  requires: string;
  keep_container: number;
  previous_successful_commit: string | null;
}

export async function claimNextPostgres(d: StoreDialect, werker: WerkerInfo, leaseMs: number, owner?: string): Promise<ClaimedBuild | null> {
  const labels = JSON.stringify([...werkerLabels(werker)]);
  const now = Date.now();
  const token = randomUUID();
  const expires = now + leaseMs;
  // `refused`: a primary-key lookup of the werker (and of its owner's token), evaluated once; when it finds the
  // id held by another live owner, `picked` is empty and nothing is written.
  const { rows } = await sql<ClaimRow>`
    with refused as (
      select 1 from werkers w
      where ${owner ?? null}::text is not null and w.id = ${werker.id}
        and w.owner is not null and w.owner <> ${owner ?? null}::text and ${ownerIsLive(sql.ref('w.owner'))}
    ), picked as (
      select id from builds
      where state = 'QUEUED' and requires::jsonb <@ ${labels}::jsonb and not exists (select 1 from refused)
      order by id
      limit 1
      for update skip locked
    ), taken as (
      update builds b
      set state = 'RUNNING', attempt = b.attempt + 1, werker_id = ${werker.id}, lease_token = ${token},
        lease_expires_at = ${expires}, started_at = coalesce(b.started_at, ${now})
      from picked where b.id = picked.id
      returning b.id, b.attempt, b.event, b.requires, b.keep_container, b.forge, b.account, b.repo, b.branch
    ), recorded as (
      insert into attempts (build_id, attempt, werker_id, lease_token, state, reason, claimed_at, finished_at)
      select id, attempt, ${werker.id}, ${token}, 'RUNNING', null, ${now}, null from taken
    )
    select exists (select 1 from refused) as refused, taken.id, taken.attempt, taken.event, taken.requires, taken.keep_container,
      case when taken.branch is null then null else (
        select p.commit_hash from builds p
        where p.forge = taken.forge and p.account = taken.account and p.repo = taken.repo
          and p.branch = taken.branch and p.state = 'PASSED'
        order by p.id desc limit 1
      ) end as previous_successful_commit
    from (select 1) as one left join taken on true`.execute(d.db);
  const b = rows[0];
  if (b?.refused) throw new WerkerIdTakenError(werker.id, idTakenReason(werker.id));
  if (!b || b.id == null) return null;
  const buildId = Number(b.id);
  return {
    lease: { buildId, attempt: b.attempt, token },
    leaseExpiresAt: expires,
    event: JSON.parse(b.event) as BuildEvent,
    buildId,
    requires: parseJsonArray(b.requires),
    previousSuccessfulCommit: b.previous_successful_commit ?? null,
    keepContainer: Boolean(b.keep_container),
  };
}

export async function reportPostgres(d: StoreDialect, lease: Lease, r: AttemptReport): Promise<void> {
  const stages = latestByOrdinal(r.stages ?? []);
  const chunks = r.chunks ?? [];
  if (stages.length === 0 && chunks.length === 0 && !r.finish) return;
  if (chunks.some((c) => c.length !== undefined)) {
    throw new Error('index-only log chunks need a store that keeps logs in files (embedded mode)');
  }
  const now = Date.now();
  // The same row values the portable path inserts; jsonb_to_recordset picks the columns it names.
  const stageRows = JSON.stringify(stages.map((s) => stageValues(lease, s)));
  const finishState = r.finish?.state ?? null;
  const finishReason = r.finish?.reason ?? null;
  // Finishing rewrites the build row: take it exclusively from the start rather than upgrade a share lock.
  const lock = r.finish ? sql`for update` : sql`for share`;
  const { rows } = await sql<{ id: number }>`
    with f as (
      select id, reason from builds
      where id = ${lease.buildId} and attempt = ${lease.attempt} and lease_token = ${lease.token}
        and state = 'RUNNING' and lease_expires_at >= ${now}
      ${lock}
    ), s as (
      insert into stages (build_id, attempt, ordinal, name, kind, state, exit_code, started_at, finished_at, reason, messages)
      select f.id, ${lease.attempt}, x.ordinal, x.name, x.kind, x.state, x.exit_code, x.started_at, x.finished_at, x.reason, x.messages
      from f, jsonb_to_recordset(${stageRows}::jsonb) as x(ordinal int, name text, kind text, state text, exit_code int,
        started_at bigint, finished_at bigint, reason text, messages text)
      on conflict (build_id, attempt, ordinal) do update set name = excluded.name, kind = excluded.kind,
        state = excluded.state, exit_code = excluded.exit_code, started_at = excluded.started_at,
        finished_at = excluded.finished_at, reason = excluded.reason, messages = excluded.messages
    ), c as (
      insert into log_chunks (build_id, attempt, seq, stage_ordinal, byte_offset, length, data, created_at)
      select f.id, ${lease.attempt}, x.seq, x.stage_ordinal, x.byte_offset, x.length, x.data, ${now}
      from f, unnest(${chunks.map((c) => c.seq)}::int[], ${chunks.map((c) => c.stageOrdinal)}::int[],
        ${chunks.map((c) => c.offset)}::bigint[], ${chunks.map((c) => chunkLength(c))}::int[],
        ${chunks.map((c) => Buffer.from(c.data.buffer, c.data.byteOffset, c.data.byteLength))}::bytea[])
        as x(seq, stage_ordinal, byte_offset, length, data)
      on conflict (build_id, attempt, seq) do nothing
    ), a as (
      update attempts set state = ${finishState}, reason = ${finishReason}, finished_at = ${now}
      from f where ${finishState}::text is not null and attempts.build_id = f.id and attempts.lease_token = ${lease.token}
    ), b as (
      update builds set state = ${finishState},
        -- A cancelled build keeps the reason given with ocelot kill unless the werker says more.
        reason = coalesce(${finishReason}::text, case when ${finishState}::text = 'CANCELLED' then f.reason end),
        finished_at = ${now}, lease_token = null, lease_expires_at = null
      from f where ${finishState}::text is not null and builds.id = f.id
    )
    select f.id, pg_notify(${BUILD_CHANNEL}, f.id::text) from f`.execute(d.db);
  if (rows.length > 0) return;
  // Nothing was written: say why, as the portable path would (the fence throws LeaseLostError with the reason).
  await fence(d, d.db, lease, 'share');
  throw new LeaseLostError(`build ${lease.buildId} attempt ${lease.attempt}: lease is no longer current`);
}
