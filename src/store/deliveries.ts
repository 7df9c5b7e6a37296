/**
 * Webhook deliveries: the build(s) of one delivery and the answer given are recorded in ONE transaction, so a
 * 2xx is only ever sent for something durable, and a redelivery gets the first answer back instead of new builds.
 */
import type { BuildEvent } from '../events/model.js';
import type { StoreDialect } from './dialect.js';
import type { DeliveryAnswer, NewBuildOptions } from './store.js';
import { insertBuild } from './builds.js';

export async function recordDelivery(
  d: StoreDialect,
  forge: string,
  deliveryId: string | undefined,
  builds: Array<{ event: BuildEvent; options?: NewBuildOptions }>,
  ignoredReason?: string,
): Promise<{ duplicate: boolean; answer: DeliveryAnswer }> {
  return d.write(async (trx, tx) => {
    const now = Date.now();
    if (deliveryId) {
      // Claim the delivery id first. On PostgreSQL a concurrent redelivery blocks on this unique key until the
      // first transaction commits, then sees its row: two copies of one delivery can never both build.
      const claimed = await trx
        .insertInto('deliveries')
        .values({ forge, delivery_id: deliveryId, received_at: now, response: '{}' })
        .onConflict((oc) => oc.columns(['forge', 'delivery_id']).doNothing())
        .executeTakeFirst();
      if (Number(claimed.numInsertedOrUpdatedRows ?? 0n) === 0) {
        const seen = await trx
          .selectFrom('deliveries')
          .select('response')
          .where('forge', '=', forge)
          .where('delivery_id', '=', deliveryId)
          .executeTakeFirstOrThrow();
        return { duplicate: true, answer: JSON.parse(seen.response) as DeliveryAnswer };
      }
    }

    const buildIds: number[] = [];
    for (const b of builds) buildIds.push(await insertBuild(trx, tx, b.event, b.options, deliveryId ?? null));
    const answer: DeliveryAnswer =
      buildIds.length > 0
        ? { outcome: 'build', buildIds }
        : { outcome: 'ignore', ...(ignoredReason !== undefined ? { reason: ignoredReason } : {}) };

    if (deliveryId) {
      await trx
        .updateTable('deliveries')
        .set({ response: JSON.stringify(answer) })
        .where('forge', '=', forge)
        .where('delivery_id', '=', deliveryId)
        .execute();
    }
    return { duplicate: false, answer };
  });
}
