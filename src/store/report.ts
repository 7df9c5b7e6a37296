/**
 * One werker report (stage changes, log chunks, the result) in one fenced transaction: one lock of the build
 * row, one wake-up for followers, one commit. A short build is reported in one or two of these instead of a
 * dozen separate writes, which is most of what a build costs the server and the database.
 */
import type { AttemptReport, Lease } from '../werker/protocol.js';
import type { StoreDialect } from './dialect.js';
import { fence, finishFenced } from './queue.js';
import { upsertStages } from './stages.js';
import { insertChunks } from './logs.js';

export async function report(d: StoreDialect, logsDir: string | undefined, lease: Lease, r: AttemptReport): Promise<void> {
  const stages = r.stages ?? [];
  const chunks = r.chunks ?? [];
  if (stages.length === 0 && chunks.length === 0 && !r.finish) return;
  await d.write(async (trx, tx) => {
    // Finishing changes the build row: lock it exclusively. Stages and logs only need it to stay ours.
    const b = await fence(d, trx, lease, r.finish ? 'update' : 'share');
    await upsertStages(trx, lease, stages);
    await insertChunks(trx, logsDir, lease, chunks);
    if (r.finish) await finishFenced(trx, lease, b, r.finish.state, r.finish.reason);
    await tx.buildActivity(lease.buildId);
  });
}
