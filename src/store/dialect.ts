/**
 * What differs between SQLite and PostgreSQL, and nothing else: how a write transaction takes its locks, whether
 * rows can be locked (FOR UPDATE / SKIP LOCKED), how wake-ups travel, and how blobs come back. Every query in the
 * aggregate modules is written once against `Kysely<Database>`; they ask this object only these questions.
 */
import { EventEmitter } from 'node:events';
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';
import { redactDatabaseUrl } from './database-url.js';

export type DialectKind = 'sqlite' | 'postgres';

/** Handed to every write transaction; wake-ups raised here are delivered only if the transaction commits. */
export interface TxContext {
  /** A build became claimable. */
  queued(): Promise<void>;
  /** New logs, stages or a state change for this build. */
  buildActivity(buildId: number): Promise<void>;
}

export interface StoreDialect {
  readonly kind: DialectKind;
  readonly db: Kysely<Database>;
  /**
   * Whether `SELECT … FOR UPDATE [SKIP LOCKED]` exists. SQLite has one writer at a time (BEGIN IMMEDIATE), so
   * locking rows there is meaningless and the clause is a syntax error.
   */
  readonly rowLocks: boolean;
  /**
   * Run `fn` in a write transaction. SQLite: BEGIN IMMEDIATE (the write lock is taken up front, so two writers
   * never deadlock upgrading a read lock). PostgreSQL: READ COMMITTED; callers lock the rows they decide on.
   */
  write<T>(fn: (trx: Kysely<Database>, tx: TxContext) => Promise<T>): Promise<T>;
  onQueued(listener: () => void): () => void;
  onBuildActivity(buildId: number, listener: () => void): () => void;
  /** Blob column value → bytes (both drivers hand back a Buffer; this keeps callers honest about null). */
  toBytes(value: unknown): Uint8Array;
  close(): Promise<void>;
}

export const QUEUE_EVENT = 'queued';
export const buildEvent = (buildId: number): string => `build:${buildId}`;

/**
 * The listener side of wake-ups: a plain emitter keyed by event name. Many log followers may wait on one build,
 * so the listener cap is off.
 */
export class WakeupBus {
  readonly emitter = new EventEmitter();
  constructor() {
    this.emitter.setMaxListeners(0);
  }

  on(event: string, listener: () => void): () => void {
    this.emitter.on(event, listener);
    return () => {
      this.emitter.off(event, listener);
    };
  }

  /** A throwing listener must not break the write that triggered it, nor starve the other listeners. */
  emit(event: string): void {
    for (const listener of this.emitter.listeners(event)) {
      try {
        (listener as () => void)();
      } catch {
        // Listeners are wake-up hints; their failures are theirs to report.
      }
    }
  }

  /** Wake everybody: used after a reconnect, when notifications may have been missed. */
  emitAll(): void {
    for (const name of this.emitter.eventNames()) this.emit(String(name));
  }
}

export function toBytes(value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (value == null) return new Uint8Array(0);
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  throw new TypeError(`unexpected blob value of type ${typeof value}`);
}

export async function openDialect(url: string): Promise<StoreDialect> {
  if (url.startsWith('sqlite:')) {
    const { openSqlite } = await import('./dialect-sqlite.js');
    return openSqlite(sqlitePath(url));
  }
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    const { openPostgres } = await import('./dialect-postgres.js');
    return openPostgres(url);
  }
  throw new Error(`unsupported database URL ${redactDatabaseUrl(url)}: use sqlite:/path/to/ocelot.db or postgres://user@host/db`);
}

/** `sqlite:/abs/path`, `sqlite:///abs/path`, `sqlite:relative/path`, `sqlite::memory:`. */
export function sqlitePath(url: string): string {
  let rest = url.slice('sqlite:'.length);
  if (rest.startsWith('//')) rest = rest.slice(2);
  if (rest === '') throw new Error('sqlite URL without a path; use sqlite:/path/to/ocelot.db or sqlite::memory:');
  return rest;
}
