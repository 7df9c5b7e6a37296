/**
 * The server half shared by `ocelot up` (with its in-process werker) and `ocelot server` (werkers elsewhere):
 * the Fastify app over an open store, the lease-expiry sweep, listening, and an orderly stop.
 *
 * The sweep runs in every replica. That is safe: expireLeases locks the rows it recovers (FOR UPDATE SKIP
 * LOCKED on PostgreSQL, one writer at a time on SQLite) and re-checks state and expiry under that lock, so two
 * replicas never recover the same attempt twice.
 */
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../server/app.js';
import type { Store } from '../store/store.js';
import { DEFAULTS } from '../config/config.js';
import { VERSION } from '../version.js';

export interface ServeOptions {
  store: Store;
  port: number;
  host: string;
  webhookSecret: string;
  adminToken: string;
  leaseMs: number;
  maxAttempts: number;
  privateReads: boolean;
  log: (msg: string) => void;
}

export interface Serving {
  app: FastifyInstance;
  url: string;
  /** /healthz answers 200 only while ready: set after start-up, cleared first thing on shutdown. */
  setReady(ready: boolean): void;
  /** Stop the sweep and close the HTTP server (in-flight requests finish; long-polls answer at once). */
  close(): Promise<void>;
}

export async function serve(opts: ServeOptions): Promise<Serving> {
  let ready = false;
  const app = await buildApp({
    store: opts.store,
    version: VERSION,
    webhookSecret: opts.webhookSecret,
    adminToken: opts.adminToken,
    maxWebhookBytes: DEFAULTS.maxWebhookBytes,
    maxAttempts: opts.maxAttempts,
    privateReads: opts.privateReads,
    leaseMs: opts.leaseMs,
    ready: () => ready,
  });

  // Often enough that a dead werker's build is re-queued within about a lease and a third of its expiry.
  const reaper = setInterval(
    () => {
      opts.store
        .expireLeases(Date.now(), opts.leaseMs)
        .then((done) => {
          for (const r of done) opts.log(`build ${r.buildId}: attempt ${r.attempt} lost its werker; ${r.action}`);
        })
        .catch((err) => opts.log(`lease expiry check failed: ${String(err)}`));
    },
    Math.max(1_000, Math.floor(opts.leaseMs / 3)),
  );
  reaper.unref();

  try {
    await app.listen({ port: opts.port, host: opts.host });
  } catch (err) {
    clearInterval(reaper);
    throw err;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : opts.port;
  const url = `http://${opts.host === '0.0.0.0' || opts.host === '::' ? '127.0.0.1' : opts.host}:${port}`;
  return {
    app,
    url,
    setReady: (r) => void (ready = r),
    close: async () => {
      clearInterval(reaper);
      await app.close();
    },
  };
}
