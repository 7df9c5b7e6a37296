/**
 * Schema migrations: one list, run on SQLite and PostgreSQL alike. They are a static provider object (not a
 * folder scan) so they work the same from dist/, from vitest and from a bundled binary. The only branches are the
 * types that truly differ: the auto-increment key and the blob column, plus a PostgreSQL-only operator class so
 * hash-prefix LIKE can use an index under any database collation.
 *
 * Never edit a migration that has shipped; add the next one.
 */
import { Migrator, sql, type CreateTableBuilder, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import type { DialectKind } from './dialect.js';

function initial(kind: DialectKind): Migration {
  const pg = kind === 'postgres';
  return {
    async up(db: Kysely<any>) {
      const autoId =
        (name: string) =>
        <TB extends string>(table: CreateTableBuilder<TB, any>): CreateTableBuilder<TB, any> =>
          pg
            ? table.addColumn(name, 'bigserial', (c) => c.primaryKey())
            : table.addColumn(name, 'integer', (c) => c.primaryKey().autoIncrement());

      await db.schema
        .createTable('builds')
        .$call(autoId('id'))
        .addColumn('forge', 'text', (c) => c.notNull())
        .addColumn('account', 'text', (c) => c.notNull())
        .addColumn('repo', 'text', (c) => c.notNull())
        .addColumn('clone_url', 'text', (c) => c.notNull())
        .addColumn('commit_hash', 'text', (c) => c.notNull())
        .addColumn('branch', 'text')
        .addColumn('tag', 'text')
        .addColumn('pr_number', 'integer')
        .addColumn('source_branch', 'text')
        .addColumn('target_branch', 'text')
        .addColumn('event_kind', 'text', (c) => c.notNull())
        .addColumn('triggered_by', 'text', (c) => c.notNull())
        .addColumn('pipeline', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('reason', 'text')
        .addColumn('attempt', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('max_attempts', 'integer', (c) => c.notNull().defaultTo(2))
        .addColumn('requires', 'text', (c) => c.notNull().defaultTo('[]'))
        .addColumn('werker_id', 'text')
        .addColumn('lease_token', 'text')
        .addColumn('lease_expires_at', 'bigint')
        .addColumn('cancel_requested', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('keep_container', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('event', 'text', (c) => c.notNull())
        .addColumn('delivery_id', 'text')
        .addColumn('queued_at', 'bigint', (c) => c.notNull())
        .addColumn('started_at', 'bigint')
        .addColumn('finished_at', 'bigint')
        .execute();
      // The queue: oldest QUEUED first.
      await db.schema.createIndex('builds_state_id').on('builds').columns(['state', 'id']).execute();
      // (Lease expiry sweeps use builds_state_id too: RUNNING builds are few, no separate index needed.)
      // Summary / status by account and repo, newest first; also previous successful commit of a branch.
      await db.schema.createIndex('builds_acct_repo').on('builds').columns(['account', 'repo', 'id']).execute();
      await db.schema
        .createIndex('builds_branch_state')
        .on('builds')
        .columns(['forge', 'account', 'repo', 'branch', 'state', 'id'])
        .execute();
      // Hash prefix search (`LIKE 'abc%'`). PostgreSQL needs text_pattern_ops unless the collation is C; SQLite
      // uses a plain index because the store turns case_sensitive_like on.
      if (pg) await sql`create index builds_commit on builds (commit_hash text_pattern_ops)`.execute(db);
      else await db.schema.createIndex('builds_commit').on('builds').column('commit_hash').execute();

      await db.schema
        .createTable('attempts')
        .$call(autoId('id'))
        .addColumn('build_id', 'bigint', (c) => c.notNull().references('builds.id').onDelete('cascade'))
        .addColumn('attempt', 'integer', (c) => c.notNull())
        .addColumn('werker_id', 'text', (c) => c.notNull())
        .addColumn('lease_token', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('reason', 'text')
        .addColumn('claimed_at', 'bigint', (c) => c.notNull())
        .addColumn('finished_at', 'bigint')
        .execute();
      await db.schema.createIndex('attempts_build').on('attempts').columns(['build_id', 'attempt']).execute();
      await db.schema.createIndex('attempts_token').on('attempts').column('lease_token').unique().execute();

      await db.schema
        .createTable('stages')
        .addColumn('build_id', 'bigint', (c) => c.notNull().references('builds.id').onDelete('cascade'))
        .addColumn('attempt', 'integer', (c) => c.notNull())
        .addColumn('ordinal', 'integer', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('exit_code', 'integer')
        .addColumn('started_at', 'bigint')
        .addColumn('finished_at', 'bigint')
        .addColumn('reason', 'text')
        .addColumn('messages', 'text', (c) => c.notNull().defaultTo('[]'))
        .addPrimaryKeyConstraint('stages_pk', ['build_id', 'attempt', 'ordinal'])
        .execute();

      await db.schema
        .createTable('log_chunks')
        .addColumn('build_id', 'bigint', (c) => c.notNull().references('builds.id').onDelete('cascade'))
        .addColumn('attempt', 'integer', (c) => c.notNull())
        .addColumn('seq', 'integer', (c) => c.notNull())
        .addColumn('stage_ordinal', 'integer', (c) => c.notNull())
        .addColumn('byte_offset', 'bigint', (c) => c.notNull())
        .addColumn('length', 'integer', (c) => c.notNull())
        .addColumn('data', pg ? 'bytea' : 'blob')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('log_chunks_pk', ['build_id', 'attempt', 'seq'])
        .execute();

      await db.schema
        .createTable('deliveries')
        .addColumn('forge', 'text', (c) => c.notNull())
        .addColumn('delivery_id', 'text', (c) => c.notNull())
        .addColumn('received_at', 'bigint', (c) => c.notNull())
        .addColumn('response', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('deliveries_pk', ['forge', 'delivery_id'])
        .execute();

      await db.schema
        .createTable('repos')
        .addColumn('forge', 'text', (c) => c.notNull())
        .addColumn('account', 'text', (c) => c.notNull())
        .addColumn('repo', 'text', (c) => c.notNull())
        .addColumn('clone_url', 'text', (c) => c.notNull())
        .addColumn('last_seen_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('repos_pk', ['forge', 'account', 'repo'])
        .execute();
      await db.schema.createIndex('repos_acct_repo').on('repos').columns(['account', 'repo']).execute();

      await db.schema
        .createTable('werkers')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('tags', 'text', (c) => c.notNull().defaultTo('[]'))
        .addColumn('runtimes', 'text', (c) => c.notNull().defaultTo('[]'))
        .addColumn('slots', 'integer', (c) => c.notNull())
        .addColumn('version', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('started_at', 'bigint', (c) => c.notNull())
        .addColumn('last_seen_at', 'bigint', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('werker_tokens')
        .$call(autoId('id'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('token_hash', 'text', (c) => c.notNull().unique())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('revoked_at', 'bigint')
        .execute();
    },
  };
}

/**
 * A werker id belongs to the token that first registered it (werkers.ts): `owner` is that token's sha256 (as in
 * werker_tokens.token_hash), 'admin' or 'local' (the in-process werker of `ocelot up`). Null for rows registered
 * before this migration: the next registration of the id takes it.
 */
const werkerOwner: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.alterTable('werkers').addColumn('owner', 'text').execute();
  },
};

export function migrationProvider(kind: DialectKind): MigrationProvider {
  return {
    async getMigrations() {
      return { '0001_initial': initial(kind), '0002_werker_owner': werkerOwner };
    },
  };
}

/** Bring the schema up to date. Safe to run from several processes at once (the Migrator takes a lock). */
export async function migrateToLatest(db: Kysely<any>, kind: DialectKind): Promise<void> {
  const migrator = new Migrator({ db, provider: migrationProvider(kind) });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error');
    const where = failed ? ` (migration ${failed.migrationName})` : '';
    throw new Error(`database migration failed${where}: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    });
  }
}
