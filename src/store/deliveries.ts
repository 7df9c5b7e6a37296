/**
 * Webhook deliveries: the build(s) of one delivery and the answer given are recorded in ONE transaction, so a
 * 2xx is only ever sent for something durable, and a redelivery gets the first answer back instead of new builds.
 */
import type { BuildEvent } from '../events/model.js';
import { sql, type Kysely } from 'kysely';
import type { StoreDialect } from './dialect.js';
import type { Database } from './schema.js';
import type { DeliveryAnswer, NewBuildOptions } from './store.js';
import { insertBuild } from './builds.js';

/** Thrown inside the transaction when a concurrent copy of the delivery committed first: roll back, answer as it did. */
class LostDeliveryRace extends Error {}

export async function recordDelivery(
  d: StoreDialect,
  forge: string,
  deliveryId: string | undefined,
  builds: Array<{ event: BuildEvent; options?: NewBuildOptions }>,
  ignoredReason?: string,
): Promise<{ duplicate: boolean; answer: DeliveryAnswer }> {
  // Written out rather than built: these run once per webhook (see insertBuild).
  const seenAnswer = async (trx: Kysely<Database>): Promise<DeliveryAnswer | null> => {
    const seen = (await sql<{ response: string }>`select response from deliveries where forge = ${forge} and delivery_id = ${deliveryId!}`.execute(trx)).rows[0];
    return seen ? (JSON.parse(seen.response) as DeliveryAnswer) : null;
  };
  try {
    return await d.write(async (trx, tx) => {
      if (deliveryId) {
        const seen = await seenAnswer(trx);
        if (seen) return { duplicate: true, answer: seen };
      }
      const buildIds: number[] = [];
      for (const b of builds) buildIds.push(await insertBuild(trx, tx, b.event, b.options, deliveryId ?? null));
      const answer: DeliveryAnswer =
        buildIds.length > 0
          ? { outcome: 'build', buildIds }
          : { outcome: 'ignore', ...(ignoredReason !== undefined ? { reason: ignoredReason } : {}) };
      if (deliveryId) {
        // The delivery row goes in last, with its answer (one statement, not insert-then-update). Its unique key
        // still decides races: on PostgreSQL a concurrent copy blocks here until the first commits, then inserts
        // nothing, and this whole transaction (its builds included) is rolled back.
        const claimed = await sql`
          insert into deliveries (forge, delivery_id, received_at, response)
          values (${forge}, ${deliveryId}, ${Date.now()}, ${JSON.stringify(answer)})
          on conflict (forge, delivery_id) do nothing`.execute(trx);
        if (Number(claimed.numAffectedRows ?? 0n) === 0) throw new LostDeliveryRace();
      }
      return { duplicate: false, answer };
    });
  } catch (err) {
    if (!(err instanceof LostDeliveryRace)) throw err;
    const answer = await seenAnswer(d.db);
    if (!answer) throw new Error(`delivery ${forge}/${deliveryId} was claimed by a concurrent request but is not stored`);
    return { duplicate: true, answer };
  }
}
