/**
 * Reads for `ocelot werkers` and for the werker protocol's idempotent retries: who is registered, what each
 * werker is running now, and how a given claim (lease token) ended.
 */
import type { Kysely } from 'kysely';
import type { Lease } from '../werker/protocol.js';
import type { AttemptState, Database } from './schema.js';
import type { WerkerRow } from './store.js';
import { parseJsonArray } from './rows.js';

export async function listWerkers(db: Kysely<Database>): Promise<WerkerRow[]> {
  const [werkers, running] = await Promise.all([
    db.selectFrom('werkers').selectAll().orderBy('name').orderBy('id').execute(),
    db.selectFrom('builds').select(['id', 'werker_id']).where('state', '=', 'RUNNING').orderBy('id').execute(),
  ]);
  return werkers.map((w) => ({
    id: w.id,
    name: w.name,
    tags: parseJsonArray(w.tags),
    runtimes: parseJsonArray(w.runtimes),
    slots: w.slots,
    version: w.version,
    status: w.status,
    startedAt: Number(w.started_at),
    lastSeenAt: Number(w.last_seen_at),
    running: running.filter((b) => b.werker_id === w.id).map((b) => Number(b.id)),
  }));
}

/** Names of the given werkers (ids that never registered are left out). */
export async function werkerNames(db: Kysely<Database>, ids: string[]): Promise<Map<string, string>> {
  const wanted = [...new Set(ids)];
  if (wanted.length === 0) return new Map();
  const rows = await db.selectFrom('werkers').select(['id', 'name']).where('id', 'in', wanted).execute();
  return new Map(rows.map((r) => [r.id, r.name]));
}

/**
 * The state of the attempt a lease belongs to (null when no such claim exists). A werker whose `finish` or
 * `handBack` reached the server but whose answer was lost retries it; the lease is gone by then, and this tells
 * the server the retry asks for what already happened.
 */
export async function attemptOutcome(db: Kysely<Database>, lease: Lease): Promise<AttemptState | null> {
  const row = await db
    .selectFrom('attempts')
    .select('state')
    .where('build_id', '=', lease.buildId)
    .where('attempt', '=', lease.attempt)
    .where('lease_token', '=', lease.token)
    .executeTakeFirst();
  return row?.state ?? null;
}
