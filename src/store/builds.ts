/**
 * The builds aggregate: creating build rows (with the repository they belong to) and every read of them.
 * State changes after creation belong to the queue (queue.ts).
 */
import { sql, type Kysely } from 'kysely';
import type { BuildEvent } from '../events/model.js';
import type { StoreDialect, TxContext } from './dialect.js';
import type { Database } from './schema.js';
import type { BuildFilter, BuildRow, NewBuildOptions } from './store.js';
import { toBuildRow } from './rows.js';

export const DEFAULT_MAX_ATTEMPTS = 2;
export const DEFAULT_PIPELINE = 'ocelot.yml';

/** Insert one build (and note its repository) inside the caller's transaction. */
export async function insertBuild(
  trx: Kysely<Database>,
  tx: TxContext,
  event: BuildEvent,
  options: NewBuildOptions = {},
  deliveryId: string | null = null,
): Promise<number> {
  const now = Date.now();
  const state = options.state ?? 'QUEUED';
  await upsertRepo(trx, event, now);
  // The webhook hot path: one statement written out rather than built, which is measurably cheaper per webhook
  // than the query builder's insert (ingest benchmark). Same SQL on SQLite and PostgreSQL.
  const row = await sql<{ id: number }>`
    insert into builds (forge, account, repo, clone_url, commit_hash, branch, tag, pr_number, source_branch,
      target_branch, event_kind, triggered_by, pipeline, state, reason, attempt, max_attempts, requires, werker_id,
      lease_token, lease_expires_at, cancel_requested, keep_container, event, delivery_id, queued_at, started_at,
      finished_at)
    values (${event.forge}, ${event.account}, ${event.repo}, ${event.cloneUrl}, ${event.commit}, ${event.branch ?? null},
      ${event.tag ?? null}, ${event.pr?.number ?? null}, ${event.pr?.sourceBranch ?? null}, ${event.pr?.targetBranch ?? null},
      ${event.kind}, ${event.sender}, ${options.pipeline ?? DEFAULT_PIPELINE}, ${state}, ${options.reason ?? null}, ${0},
      ${options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS}, ${'[]'}, ${null}, ${null}, ${null}, ${0}, ${event.keepContainer ? 1 : 0},
      ${JSON.stringify(event)}, ${deliveryId ?? event.deliveryId ?? null}, ${now}, ${null},
      ${state === 'SKIPPED' ? now : null})
    returning id`.execute(trx);
  const first = row.rows[0];
  if (!first) throw new Error('insert into builds returned no id');
  const id = Number(first.id);
  // No build-activity wake-up: nobody can be following a build whose id did not exist until now.
  if (state === 'QUEUED') await tx.queued();
  return id;
}

/** How stale `repos.last_seen_at` may get before a new build refreshes it. */
const REPO_SEEN_REFRESH_MS = 60_000;

/**
 * Remember where a repository is cloned from, so `ocelot trigger acct/repo` works without a webhook. The row is
 * read first and written only when it is new, its clone URL changed, or it was last refreshed a minute ago:
 * an upsert would lock the one row every build of a busy repository shares until commit, serializing all its
 * webhooks on PostgreSQL.
 */
async function upsertRepo(trx: Kysely<Database>, event: BuildEvent, now: number): Promise<void> {
  const seen = (
    await sql<{ clone_url: string; last_seen_at: number }>`
      select clone_url, last_seen_at from repos where forge = ${event.forge} and account = ${event.account} and repo = ${event.repo}`.execute(trx)
  ).rows[0];
  if (seen && seen.clone_url === event.cloneUrl && now - seen.last_seen_at < REPO_SEEN_REFRESH_MS) return;
  await trx
    .insertInto('repos')
    .values({ forge: event.forge, account: event.account, repo: event.repo, clone_url: event.cloneUrl, last_seen_at: now })
    .onConflict((oc) =>
      oc.columns(['forge', 'account', 'repo']).doUpdateSet((eb) => ({
        clone_url: eb.ref('excluded.clone_url'),
        last_seen_at: eb.ref('excluded.last_seen_at'),
      })),
    )
    .execute();
}

export async function createBuild(d: StoreDialect, event: BuildEvent, options?: NewBuildOptions): Promise<BuildRow> {
  const id = await d.write((trx, tx) => insertBuild(trx, tx, event, options));
  const build = await getBuild(d.db, id);
  if (!build) throw new Error(`build ${id} vanished right after it was created`);
  return build;
}

export async function getBuild(db: Kysely<Database>, id: number): Promise<BuildRow | null> {
  const row = await db.selectFrom('builds').selectAll().where('id', '=', id).executeTakeFirst();
  return row ? toBuildRow(row) : null;
}

export async function findRepo(
  db: Kysely<Database>,
  acctRepo: string,
): Promise<{ forge: string; account: string; repo: string; cloneUrl: string } | null> {
  const slash = acctRepo.indexOf('/');
  if (slash <= 0 || slash === acctRepo.length - 1) return null;
  const account = acctRepo.slice(0, slash);
  const repo = acctRepo.slice(slash + 1);
  // The same acct/repo on two forges is possible; the one that sent something last wins.
  const row = await db
    .selectFrom('repos')
    .selectAll()
    .where('account', '=', account)
    .where('repo', '=', repo)
    .orderBy('last_seen_at', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row ? { forge: row.forge, account: row.account, repo: row.repo, cloneUrl: row.clone_url } : null;
}

/**
 * `acct/orch*` → a LIKE pattern. `%` and `_` in names are literal (escaped with `!`); only `*` is a wildcard.
 * Both dialects compare case-sensitively (SQLite through PRAGMA case_sensitive_like).
 */
export function globToLike(glob: string): string {
  return glob.replace(/[!%_]/g, (c) => `!${c}`).replace(/\*/g, '%');
}

/** Hash prefixes are hex; anything else matches nothing (and cannot smuggle LIKE wildcards in). */
function normalizeHashPrefix(prefix: string): string | null {
  const p = prefix.trim().toLowerCase();
  return /^[0-9a-f]+$/.test(p) ? p : null;
}

export async function listBuilds(db: Kysely<Database>, filter: BuildFilter): Promise<BuildRow[]> {
  let q = db.selectFrom('builds').selectAll();
  if (filter.forge) q = q.where('forge', '=', filter.forge);
  if (filter.account) q = q.where('account', '=', filter.account);
  if (filter.acctRepoGlob) {
    const glob = filter.acctRepoGlob;
    if (glob.includes('*')) {
      q = q.where(sql<boolean>`account || '/' || repo like ${globToLike(glob)} escape '!'`);
    } else {
      // No wildcard: an exact acct/repo, which the (account, repo, id) index serves directly.
      const slash = glob.indexOf('/');
      if (slash < 0) return [];
      q = q.where('account', '=', glob.slice(0, slash)).where('repo', '=', glob.slice(slash + 1));
    }
  }
  if (filter.hashPrefix !== undefined) {
    const prefix = normalizeHashPrefix(filter.hashPrefix);
    if (!prefix) return [];
    q = q.where('commit_hash', 'like', `${prefix}%`);
  }
  const rows = await q
    .orderBy('id', 'desc')
    .limit(filter.limit ?? 20)
    .execute();
  return rows.map(toBuildRow);
}

export async function commitsByPrefix(
  db: Kysely<Database>,
  prefix: string,
  limit = 20,
): Promise<Array<{ commit: string; account: string; repo: string; forge: string }>> {
  const p = normalizeHashPrefix(prefix);
  if (!p) return [];
  const rows = await db
    .selectFrom('builds')
    .select(['commit_hash', 'account', 'repo', 'forge'])
    .select((eb) => eb.fn.max('id').as('newest'))
    .where('commit_hash', 'like', `${p}%`)
    .groupBy(['commit_hash', 'account', 'repo', 'forge'])
    .orderBy('newest', 'desc')
    .limit(limit)
    .execute();
  return rows.map((r) => ({ commit: r.commit_hash, account: r.account, repo: r.repo, forge: r.forge }));
}
