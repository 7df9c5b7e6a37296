import { startServer } from '../../embedded/server.js';
import { leaseMsFromEnv, maxAttemptsFromEnv } from '../../embedded/env-settings.js';
import { UsageError } from '../resolve.js';

/** `ocelot server --database <url>`: the server without a werker (distributed mode). */
export async function serverCommand(flags: { database?: string; port: string; host: string; dataDir: string; privateReads?: boolean }): Promise<void> {
  if (!flags.database) throw new UsageError('give the database: --database postgres://user@host/db (or env OCELOT_DATABASE_URL)');
  const num = (v: string | undefined, fallback: number, what: string) => {
    if (v === undefined || v === '') return fallback;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new UsageError(`${what} must be a whole number, got '${v}'`);
    return n;
  };
  const running = await startServer({
    databaseUrl: flags.database,
    port: num(flags.port, 8088, '--port'),
    host: flags.host,
    dataDir: flags.dataDir,
    leaseMs: leaseMsFromEnv(),
    maxAttempts: maxAttemptsFromEnv(),
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
