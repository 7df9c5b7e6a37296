/**
 * SQLite (embedded mode) through better-sqlite3. One connection per Store; writes take the database write lock
 * up front with BEGIN IMMEDIATE, which makes every write transaction serial: the claim needs no row locks.
 */
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect, sql, type SqliteDatabase } from 'kysely';
import type { Database } from './schema.js';
import { QUEUE_EVENT, WakeupBus, buildEvent, toBytes, type StoreDialect, type TxContext } from './dialect.js';

/**
 * better-sqlite3 is synchronous: if two Store instances in one process (tests, or a CLI opening the server's
 * file) both wanted the write lock, the second would spin in busy_timeout on the event loop while the first
 * waits for that loop to continue its transaction — a self-deadlock. A per-file async lock, shared by every
 * instance in this process, queues them instead; other processes are handled by busy_timeout. The wake-up bus is
 * shared per file the same way, so instances in one process hear each other.
 */
interface FileShared {
  tail: Promise<void>;
  bus: WakeupBus;
  users: number;
}
const perFile = new Map<string, FileShared>();

function shared(key: string): FileShared {
  let entry = perFile.get(key);
  if (!entry) {
    entry = { tail: Promise.resolve(), bus: new WakeupBus(), users: 0 };
    perFile.set(key, entry);
  }
  entry.users++;
  return entry;
}

/**
 * Kysely prepares every query anew; preparing costs about as much as running a small insert. The store's
 * queries are a small fixed set of SQL strings, so keep their prepared statements. (Safe because the store
 * never streams: a statement is never in use by two queries at once on this single connection.)
 */
function cachingStatements(native: BetterSqlite3.Database): SqliteDatabase {
  const cache = new Map<string, BetterSqlite3.Statement>();
  return {
    close: () => native.close(),
    prepare(text: string) {
      let stmt = cache.get(text);
      if (!stmt) {
        // Multi-row inserts vary with their row count; a bound keeps an unusual workload from growing this.
        if (cache.size >= 500) cache.clear();
        stmt = native.prepare(text);
        cache.set(text, stmt);
      }
      return stmt;
    },
  };
}

export function openSqlite(file: string): StoreDialect {
  const memory = file === ':memory:';
  const native = new BetterSqlite3(file);
  native.pragma('journal_mode = WAL');
  // NORMAL under WAL: a commit survives a process crash; only a power loss can drop the last transactions.
  native.pragma('synchronous = NORMAL');
  native.pragma('busy_timeout = 5000');
  native.pragma('foreign_keys = ON');
  // LIKE is ASCII-case-insensitive by default in SQLite; PostgreSQL's is case-sensitive. Globs must agree.
  native.pragma('case_sensitive_like = ON');

  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: cachingStatements(native) }) });
  // :memory: databases are private to their connection: nothing to share.
  const key = memory ? `memory:${Math.random()}` : path.resolve(file);
  const fileShared = shared(key);
  const bus = fileShared.bus;

  const withFileLock = async <T>(fn: () => Promise<T>): Promise<T> => {
    const previous = fileShared.tail;
    let release!: () => void;
    fileShared.tail = new Promise<void>((resolve) => (release = resolve));
    await previous;
    try {
      return await fn();
    } finally {
      release();
    }
  };

  /**
   * Group commit. A commit is most of a small write's cost (the WAL append), so writes that arrive while one
   * transaction is running are collected and run together in the next: one BEGIN IMMEDIATE, each write in its
   * own SAVEPOINT (a failing write, e.g. a refused lease, rolls back alone), one COMMIT. Every caller is
   * answered only after that commit, so "recorded" still means durable. Idle, a batch is a single write.
   */
  interface Job {
    fn: (trx: Kysely<Database>, tx: TxContext) => Promise<unknown>;
    resolve: (value: unknown) => void;
    reject: (err: unknown) => void;
  }
  const queue: Job[] = [];
  let draining = false;
  const MAX_BATCH = 64;

  const runBatch = (batch: Job[]) =>
    db.connection().execute(async (conn) => {
      const single = batch.length === 1;
      const done: Array<{ job: Job; result: unknown; pending: Set<string> }> = [];
      try {
        await sql`begin immediate`.execute(conn);
      } catch (err) {
        for (const job of batch) job.reject(err);
        return;
      }
      for (const job of batch) {
        const pending = new Set<string>();
        const tx: TxContext = {
          async queued() {
            pending.add(QUEUE_EVENT);
          },
          async buildActivity(buildId) {
            pending.add(buildEvent(buildId));
          },
        };
        try {
          if (!single) await sql`savepoint w`.execute(conn);
          const result = await job.fn(conn, tx);
          if (!single) await sql`release w`.execute(conn);
          done.push({ job, result, pending });
        } catch (err) {
          if (!native.inTransaction) {
            // SQLite gave up the whole transaction (disk full, I/O error): everything in it is lost.
            job.reject(err);
            for (const d of done) d.job.reject(err);
            for (const rest of batch.slice(batch.indexOf(job) + 1)) rest.reject(err);
            return;
          }
          try {
            if (single) await sql`rollback`.execute(conn);
            else {
              await sql`rollback to w`.execute(conn);
              await sql`release w`.execute(conn);
            }
          } finally {
            job.reject(err);
          }
          if (single) return;
        }
      }
      try {
        await sql`commit`.execute(conn);
      } catch (err) {
        if (native.inTransaction) await sql`rollback`.execute(conn).catch(() => {});
        for (const d of done) d.job.reject(err);
        return;
      }
      // After commit only: a woken claimer must find the build.
      for (const d of done) for (const event of d.pending) bus.emit(event);
      for (const d of done) d.job.resolve(d.result);
    });

  const drain = async () => {
    draining = true;
    try {
      while (queue.length > 0) {
        const batch = queue.splice(0, MAX_BATCH);
        try {
          await withFileLock(() => runBatch(batch));
        } catch (err) {
          // A failure outside any one write (connection closed): nobody in the batch got an answer yet.
          for (const job of batch) job.reject(err);
        }
      }
    } finally {
      draining = false;
    }
  };

  return {
    kind: 'sqlite',
    db,
    rowLocks: false,
    write<T>(fn: (trx: Kysely<Database>, tx: TxContext) => Promise<T>): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        queue.push({ fn, resolve: resolve as (value: unknown) => void, reject });
        if (!draining) void drain();
      });
    },
    onQueued: (listener) => bus.on(QUEUE_EVENT, listener),
    onBuildActivity: (buildId, listener) => bus.on(buildEvent(buildId), listener),
    toBytes,
    async close() {
      await db.destroy();
      if (--fileShared.users === 0) perFile.delete(key);
    },
  };
}
