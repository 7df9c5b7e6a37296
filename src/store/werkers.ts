/**
 * Werkers as the server knows them: who they are, what they offer, when they were last heard from, and which
 * token they belong to.
 *
 * A werker id belongs to the token that first registered it (`owner`: the token's sha256, as werker_tokens keeps
 * it; ADMIN_OWNER for the admin token; LOCAL_OWNER for `ocelot up`'s own werker). A registration or claim under
 * that id with any other token is refused (WerkerIdTakenError) while the owner is live: an unrevoked werker
 * token, the admin or the local werker. A revoked owner, or none (rows from before owners were kept), lets the
 * next registration take the id. The same token registering again (a restart, the heartbeat) is the same werker.
 */
import { sql, type Expression, type Kysely, type SqlBool } from 'kysely';
import { WerkerIdTakenError, type WerkerInfo, type WerkerStatus } from '../werker/protocol.js';
import type { StoreDialect } from './dialect.js';
import type { Database } from './schema.js';

/** Owner of werker ids registered with the admin token. */
export const ADMIN_OWNER = 'admin';
/** Owner of the in-process werker of `ocelot up` (registered without HTTP, so without a token). */
export const LOCAL_OWNER = 'local';

/**
 * True when the owner in `column` is live: the admin, the local werker, or a werker token not revoked. Written
 * once as SQL so the portable paths and the PostgreSQL claim (postgres-fast-paths.ts) say the same thing.
 */
export function ownerIsLive(column: Expression<string | null>): Expression<SqlBool> {
  return sql<SqlBool>`(${column} in (${ADMIN_OWNER}, ${LOCAL_OWNER}) or exists (
    select 1 from werker_tokens t where t.token_hash = ${column} and t.revoked_at is null))`;
}

/**
 * Register (or heartbeat) a werker. With `owner` (every caller but tests), the id is taken for that owner when it
 * is new or free, and WerkerIdTakenError is thrown when another live owner holds it; nothing is written then.
 * Without `owner`, the row is written unchecked and its owner left as it is.
 */
export async function registerWerker(d: StoreDialect, w: WerkerInfo, status: WerkerStatus = 'online', owner?: string): Promise<void> {
  const now = Date.now();
  const fields = {
    name: w.name,
    tags: JSON.stringify(w.tags),
    runtimes: JSON.stringify(w.runtimes),
    slots: w.slots,
    version: w.version,
    status,
    last_seen_at: now,
  };
  const written = await d.write(async (trx) =>
    trx
      .insertInto('werkers')
      .values({ id: w.id, ...fields, started_at: now, owner: owner ?? null })
      .onConflict((oc) => {
        // started_at stays: re-registering is also the heartbeat.
        if (owner === undefined) return oc.column('id').doUpdateSet(fields);
        // One statement, so two tokens racing for a new id cannot both win: the update happens only when the id
        // is this owner's, unowned, or its owner is no longer live; otherwise no row comes back.
        return oc
          .column('id')
          .doUpdateSet({ ...fields, owner })
          .where((eb) =>
            eb.or([
              eb('werkers.owner', 'is', null),
              eb('werkers.owner', '=', owner),
              eb.not(ownerIsLive(eb.ref('werkers.owner'))),
            ]),
          );
      })
      .returning('id')
      .executeTakeFirst(),
  );
  if (!written) throw new WerkerIdTakenError(w.id, idTakenReason(w.id));
}

/**
 * Whether `werkerId` is held by a live owner other than `owner`: the portable claim asks this inside its
 * transaction (the PostgreSQL claim asks the same inside its one statement).
 */
export async function idTakenByAnother(db: Kysely<Database>, werkerId: string, owner: string): Promise<boolean> {
  const row = await db
    .selectFrom('werkers')
    .select('id')
    .where('id', '=', werkerId)
    .where('owner', 'is not', null)
    .where('owner', '!=', owner)
    .where((eb) => ownerIsLive(eb.ref('werkers.owner')))
    .executeTakeFirst();
  return row !== undefined;
}

export function idTakenReason(werkerId: string): string {
  return (
    `werker id ${werkerId} is registered with another token; a werker id belongs to the token that first registered it ` +
    `while that token is live (give this werker its own --work-dir, or revoke the other token)`
  );
}
