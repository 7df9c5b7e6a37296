import { startServer } from '../../embedded/server.js';
import { DEFAULTS, intFrom } from '../../config/config.js';
import { UsageError } from '../resolve.js';

/** `ocelot server --database <url>`: the server without a werker (distributed mode). */
export async function serverCommand(flags: { database?: string; port: string; host: string; dataDir: string; privateReads?: boolean }): Promise<void> {
  if (!flags.database) throw new UsageError('give the database: --database postgres://user@host/db (or env OCELOT_DATABASE_URL)');
  const num = (v: string | undefined, fallback: number, what: string) => {
    try {
      return intFrom(v, fallback, what);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  };
  const running = await startServer({
    databaseUrl: flags.database,
    port: num(flags.port, DEFAULTS.port, '--port'),
    host: flags.host,
    dataDir: flags.dataDir,
    leaseMs: num(process.env.OCELOT_LEASE_MS, DEFAULTS.leaseMs, 'OCELOT_LEASE_MS'),
    maxAttempts: num(process.env.OCELOT_MAX_ATTEMPTS, DEFAULTS.maxAttempts, 'OCELOT_MAX_ATTEMPTS'),
    privateReads: Boolean(flags.privateReads),
  });
  const shutdown = (signal: string) => {
    console.log(`${signal}: stopping (in-flight requests finish; werkers keep their builds and reconnect)`);
    running.stop().then(
      () => process.exit(0),
      (err) => {
        console.error(`shutdown failed: ${String(err)}`);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}
