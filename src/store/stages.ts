/**
 * Stage rows of a build attempt: the system stages (validation, workspace/clone, setup) and the user's, in
 * order. Written by the werker holding the lease; read by the API.
 */
import type { Kysely } from 'kysely';
import type { Lease, StageRecord } from '../werker/protocol.js';
import type { StoreDialect } from './dialect.js';
import type { Database, StagesTable } from './schema.js';
import type { StageRow } from './store.js';
import { fence } from './queue.js';
import { toStageRow } from './rows.js';

function stageValues(lease: Lease, s: StageRecord): StagesTable {
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

export async function putStages(d: StoreDialect, lease: Lease, stages: StageRecord[]): Promise<void> {
  await d.write(async (trx, tx) => {
    await fence(d, trx, lease, 'share');
    await trx.deleteFrom('stages').where('build_id', '=', lease.buildId).where('attempt', '=', lease.attempt).execute();
    if (stages.length > 0) await trx.insertInto('stages').values(stages.map((s) => stageValues(lease, s))).execute();
    await tx.buildActivity(lease.buildId);
  });
}

export async function updateStage(d: StoreDialect, lease: Lease, stage: StageRecord): Promise<void> {
  await d.write(async (trx, tx) => {
    await fence(d, trx, lease, 'share');
    const values = stageValues(lease, stage);
    const { build_id: _b, attempt: _a, ordinal: _o, ...changes } = values;
    await trx
      .insertInto('stages')
      .values(values)
      .onConflict((oc) => oc.columns(['build_id', 'attempt', 'ordinal']).doUpdateSet(changes))
      .execute();
    await tx.buildActivity(lease.buildId);
  });
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
