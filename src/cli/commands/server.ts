import { startServer } from '../../embedded/server.js';
import { leaseMsFromEnv, maxAttemptsFromEnv } from '../../embedded/env-settings.js';
import { UsageError } from '../resolve.js';
import { explainStartErrors, stopOnSignals, wholeNumber } from '../daemon.js';

/** `ocelot server --database <url>`: the server without a werker (distributed mode). */
export async function serverCommand(flags: { database?: string; port: string; host: string; dataDir: string; privateReads?: boolean }): Promise<void> {
  if (!flags.database) throw new UsageError('give the database: --database postgres://user@host/db (or env OCELOT_DATABASE_URL)');
  const options = {
    databaseUrl: flags.database,
    port: wholeNumber(flags.port, '--port', 8088),
    host: flags.host,
    dataDir: flags.dataDir,
    leaseMs: leaseMsFromEnv(),
    maxAttempts: maxAttemptsFromEnv(),
    privateReads: Boolean(flags.privateReads),
  };
  const running = await explainStartErrors(flags, () => startServer(options));
  stopOnSignals('stopping (in-flight requests finish; werkers keep their builds and reconnect)', () => running.stop());
}
