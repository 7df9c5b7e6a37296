/** Werkers as the server knows them: who they are, what they offer, when they were last heard from. */
import type { WerkerInfo, WerkerStatus } from '../werker/protocol.js';
import type { StoreDialect } from './dialect.js';

export async function registerWerker(d: StoreDialect, w: WerkerInfo, status: WerkerStatus = 'online'): Promise<void> {
  const now = Date.now();
  await d.write(async (trx) => {
    await trx
      .insertInto('werkers')
      .values({
        id: w.id,
        name: w.name,
        tags: JSON.stringify(w.tags),
        runtimes: JSON.stringify(w.runtimes),
        slots: w.slots,
        version: w.version,
        status,
        started_at: now,
        last_seen_at: now,
      })
      .onConflict((oc) =>
        // started_at stays: re-registering is also the heartbeat.
        oc.column('id').doUpdateSet({
          name: w.name,
          tags: JSON.stringify(w.tags),
          runtimes: JSON.stringify(w.runtimes),
          slots: w.slots,
          version: w.version,
          status,
          last_seen_at: now,
        }),
      )
      .execute();
  });
}
