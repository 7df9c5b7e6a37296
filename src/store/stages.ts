/**
 * Stage rows of a build attempt: the system stages (validation, workspace/clone, setup) and the user's, in
 * order. Written by the werker holding the lease; read by the API.
 */
import type { Kysely } from 'kysely';
import type { Lease, StageRecord } from '../werker/protocol.js';
import type { Database, StagesTable } from './schema.js';
import type { StageRow } from './store.js';
import { toStageRow } from './rows.js';

export function stageValues(lease: Lease, s: StageRecord): StagesTable {
  return {
    build_id: lease.buildId,
    attempt: lease.attempt,
    ordinal: s.ordinal,
    name: s.name,
    kind: s.kind,
    state: s.state,
    exit_code: s.exitCode ?? null,
    started_at: s.startedAt ?? null,
    finished_at: s.finishedAt ?? null,
    reason: s.reason ?? null,
    messages: JSON.stringify(s.messages ?? []),
  };
}

/**
 * Insert or update stage rows by ordinal, in one statement, inside the caller's fenced transaction. Ordinals of
 * an attempt never change meaning (stages are only ever added after the system ones), so an upsert of the
 * stages a werker reports is all the state a stage row needs.
 */
export async function upsertStages(trx: Kysely<Database>, lease: Lease, stages: StageRecord[]): Promise<void> {
  if (stages.length === 0) return;
  await trx
    .insertInto('stages')
    .values(latestByOrdinal(stages).map((s) => stageValues(lease, s)))
    .onConflict((oc) =>
      oc.columns(['build_id', 'attempt', 'ordinal']).doUpdateSet((eb) => ({
        name: eb.ref('excluded.name'),
        kind: eb.ref('excluded.kind'),
        state: eb.ref('excluded.state'),
        exit_code: eb.ref('excluded.exit_code'),
        started_at: eb.ref('excluded.started_at'),
        finished_at: eb.ref('excluded.finished_at'),
        reason: eb.ref('excluded.reason'),
        messages: eb.ref('excluded.messages'),
      })),
    )
    .execute();
}

/** One statement must not touch the same row twice (PostgreSQL refuses): the last record of an ordinal wins. */
export function latestByOrdinal(stages: StageRecord[]): StageRecord[] {
  const latest = new Map<number, StageRecord>();
  for (const s of stages) latest.set(s.ordinal, s);
  return [...latest.values()];
}

export async function getStages(db: Kysely<Database>, buildId: number, attempt?: number): Promise<StageRow[]> {
  let which = attempt;
  if (which === undefined) {
    const b = await db.selectFrom('builds').select('attempt').where('id', '=', buildId).executeTakeFirst();
    if (!b) return [];
    which = b.attempt;
  }
  const rows = await db
    .selectFrom('stages')
    .selectAll()
    .where('build_id', '=', buildId)
    .where('attempt', '=', which)
    .orderBy('ordinal')
    .execute();
  return rows.map(toStageRow);
}
