/**
 * SQLite (embedded mode) through better-sqlite3. One connection per Store; writes take the database write lock
 * up front with BEGIN IMMEDIATE, which makes every write transaction serial: the claim needs no row locks.
 */
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from 'kysely';
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

  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: native }) });
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

  return {
    kind: 'sqlite',
    db,
    rowLocks: false,
    async write(fn) {
      return withFileLock(() =>
        db.connection().execute(async (conn) => {
          const pending = new Set<string>();
          const tx: TxContext = {
            async queued() {
              pending.add(QUEUE_EVENT);
            },
            async buildActivity(buildId) {
              pending.add(buildEvent(buildId));
            },
          };
          await sql`begin immediate`.execute(conn);
          let result;
          try {
            result = await fn(conn, tx);
            await sql`commit`.execute(conn);
          } catch (err) {
            try {
              await sql`rollback`.execute(conn);
            } catch {
              // SQLite may already have rolled back (e.g. SQLITE_FULL); the original error matters more.
            }
            throw err;
          }
          // After commit only: a woken claimer must find the build.
          for (const event of pending) bus.emit(event);
          return result;
        }),
      );
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
