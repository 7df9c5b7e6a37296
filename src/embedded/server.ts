/**
 * `ocelot server`: the server alone, werkers elsewhere (distributed mode). State lives in the database only —
 * no file, cache or queue in this process matters — so any number of replicas can serve the same PostgreSQL
 * database behind a load balancer, and any replica answers any request (webhooks, API, log follows, werkers).
 *
 * Unlike `ocelot up`, start-up does NOT expire every lease: the werkers holding them run on other machines and
 * are most likely still alive, riding out this restart. Only leases that really expired are recovered.
 */
import path from 'node:path';
import { createStore, redactDatabaseUrl } from '../store/index.js';
import type { Store } from '../store/store.js';
import { loadOrCreateSecrets } from '../config/config.js';
import { VERSION } from '../version.js';
import { serve, type Serving } from './serve.js';

export interface ServerOptions {
  databaseUrl: string;
  port: number;
  host: string;
  /** Where generated secrets are kept when OCELOT_WEBHOOK_SECRET / OCELOT_ADMIN_TOKEN are not set. */
  dataDir: string;
  leaseMs: number;
  maxAttempts: number;
  privateReads: boolean;
  quiet?: boolean;
}

export interface RunningServer {
  url: string;
  store: Store;
  server: Serving;
  stop(): Promise<void>;
}

export async function startServer(opts: ServerOptions, log: (msg: string) => void = console.log): Promise<RunningServer> {
  const dataDir = path.resolve(opts.dataDir);
  const secrets = loadOrCreateSecrets(dataDir);
  // Migrations run here, in every replica; they take a lock, so replicas starting together do not collide.
  const store = await createStore({ url: opts.databaseUrl });
  let server: Serving;
  try {
    server = await serve({
      store,
      port: opts.port,
      host: opts.host,
      webhookSecret: secrets.webhookSecret,
      adminToken: secrets.adminToken,
      leaseMs: opts.leaseMs,
      maxAttempts: opts.maxAttempts,
      privateReads: opts.privateReads,
      log,
    });
  } catch (err) {
    await store.close();
    throw err;
  }
  server.setReady(true);

  if (!opts.quiet) {
    log(`ocelot ${VERSION} server listening at ${server.url} (database ${redactDatabaseUrl(opts.databaseUrl)})`);
    log(`  webhooks:  ${server.url}/hooks/github   ${server.url}/hooks/bitbucket`);
    log(`  webhook secret: ${process.env.OCELOT_WEBHOOK_SECRET ? '(from OCELOT_WEBHOOK_SECRET)' : `${secrets.webhookSecret} (kept in ${path.join(dataDir, 'webhook-secret')})`}`);
    log(`  admin token:    ${process.env.OCELOT_ADMIN_TOKEN ? '(from OCELOT_ADMIN_TOKEN)' : `${secrets.adminToken} (kept in ${path.join(dataDir, 'admin-token')})`}`);
    log(`  werkers: ocelot werker-token create <name>, then ocelot werker --server ${server.url} --token <token>`);
  }

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      server.setReady(false);
      await server.close();
      await store.close();
    })());
  return { url: server.url, store, server, stop };
}
