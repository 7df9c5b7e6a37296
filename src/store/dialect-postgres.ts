/**
 * PostgreSQL (distributed mode) through a pg Pool. Claims lock rows with FOR UPDATE SKIP LOCKED; wake-ups are
 * NOTIFY, issued inside the writing transaction (PostgreSQL delivers them on commit, never on rollback) and
 * heard on one dedicated LISTEN connection per Store. Listeners in this process are woken through NOTIFY too,
 * so every replica, this one included, learns the same way and nobody is woken twice.
 */
import pg from 'pg';
import { Kysely, PostgresDialect, sql } from 'kysely';
import type { Database } from './schema.js';
import { QUEUE_EVENT, WakeupBus, buildEvent, toBytes, type StoreDialect, type TxContext } from './dialect.js';
import { maskDatabaseSecrets, redactDatabaseUrl } from './database-url.js';

const QUEUE_CHANNEL = 'ocelot_queue';
const BUILD_CHANNEL = 'ocelot_build';

/** Timestamps are int8 milliseconds; pg would hand them back as strings. They fit a double for 285,000 years. */
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === 20 && format !== 'binary') return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format as 'text');
  },
};

export async function openPostgres(url: string): Promise<StoreDialect> {
  const pool = new pg.Pool({ connectionString: url, types, max: 10 });
  // An idle client that errors (server restart) must not crash the process; the pool replaces it.
  pool.on('error', () => {});
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  const bus = new WakeupBus();
  const listener = new Listener(url, bus);
  try {
    await listener.start();
  } catch (err) {
    // Unreachable or refusing server: say where, and leave no pool behind to keep the process alive.
    await db.destroy().catch(() => {});
    throw new Error(`cannot connect to PostgreSQL at ${redactDatabaseUrl(url)}: ${maskDatabaseSecrets((err as Error).message, url)}`, { cause: err });
  }

  return {
    kind: 'postgres',
    db,
    rowLocks: true,
    write(fn) {
      return db.transaction().execute(async (trx) => {
        const tx: TxContext = {
          async queued() {
            await sql`select pg_notify(${QUEUE_CHANNEL}, '')`.execute(trx);
          },
          async buildActivity(buildId) {
            await sql`select pg_notify(${BUILD_CHANNEL}, ${String(buildId)})`.execute(trx);
          },
        };
        return fn(trx, tx);
      });
    },
    onQueued: (fn) => bus.on(QUEUE_EVENT, fn),
    onBuildActivity: (buildId, fn) => bus.on(buildEvent(buildId), fn),
    toBytes,
    async close() {
      await listener.stop();
      await db.destroy();
    },
  };
}

/**
 * The LISTEN connection. If it drops (server restart, network cut), it reconnects with backoff and then wakes
 * every local listener once: notifications sent while it was away are lost, and a spurious wake-up is cheap
 * (claimers and log followers re-read the database) while a missed one would stall them.
 */
class Listener {
  private client: pg.Client | null = null;
  private stopped = false;
  private retryMs = 100;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly url: string,
    private readonly bus: WakeupBus,
  ) {}

  async start(): Promise<void> {
    await this.connect();
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.url, types });
    client.on('notification', (msg) => {
      if (msg.channel === QUEUE_CHANNEL) this.bus.emit(QUEUE_EVENT);
      else if (msg.channel === BUILD_CHANNEL && msg.payload) this.bus.emit(buildEvent(Number(msg.payload)));
    });
    const lost = () => {
      if (this.client !== client) return;
      this.client = null;
      client.removeAllListeners('notification');
      void client.end().catch(() => {});
      this.scheduleReconnect();
    };
    client.on('error', lost);
    client.on('end', lost);
    await client.connect();
    await client.query(`LISTEN ${QUEUE_CHANNEL}`);
    await client.query(`LISTEN ${BUILD_CHANNEL}`);
    if (this.stopped) {
      await client.end().catch(() => {});
      return;
    }
    this.client = client;
    this.retryMs = 100;
  }

  private scheduleReconnect(): void {
    if (this.stopped || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.connect().then(
        () => this.bus.emitAll(),
        () => {
          this.retryMs = Math.min(this.retryMs * 2, 5000);
          this.scheduleReconnect();
        },
      );
    }, this.retryMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const client = this.client;
    this.client = null;
    if (client) await client.end().catch(() => {});
  }
}
