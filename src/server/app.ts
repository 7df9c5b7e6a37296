/**
 * The HTTP server: webhooks, the JSON API, log streams, health and metrics. Built as a Fastify instance so tests
 * can drive it over a real socket or with inject().
 */
import Fastify, { type FastifyInstance } from 'fastify';
import type { Store } from '../store/store.js';
import { apiRoutes } from './api-routes.js';
import { hooksRoutes } from './hooks-routes.js';
import { createMetrics, type Metrics } from './metrics.js';
import { werkerRoutes } from './werker-routes.js';
import { werkerTokenRoutes } from './werker-token-routes.js';

export interface AppOptions {
  store: Store;
  version: string;
  webhookSecret: string;
  adminToken: string;
  maxWebhookBytes: number;
  maxAttempts: number;
  privateReads: boolean;
  /** Lease length handed to werkers on claim and renew. */
  leaseMs: number;
  /** Override of the werker list (default: every werker registered in the store). */
  werkers?: () => Promise<unknown[]>;
  /** Health check: false while starting or shutting down. */
  ready?: () => boolean;
  metrics?: Metrics;
}

/** Body limit of everything but webhooks (those have maxWebhookBytes). */
const BODY_LIMIT = 1024 * 1024;

export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({ logger: false, bodyLimit: BODY_LIMIT, forceCloseConnections: true });
  const metrics = opts.metrics ?? createMetrics();

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    if (status === 413) {
      // The route's own limit when it has one (werker reports take more than API calls).
      const limit = req.url.startsWith('/hooks/') ? opts.maxWebhookBytes : (req.routeOptions?.bodyLimit ?? BODY_LIMIT);
      const mib = Number((limit / (1024 * 1024)).toFixed(2));
      void reply.code(413).send({ error: 'payload_too_large', reason: `the request body is larger than this server accepts (at most ${mib} MiB)` });
      return;
    }
    const reason = status >= 500 ? `internal error: ${err.message}` : err.message;
    void reply.code(status).send({ error: err.code ?? (status >= 500 ? 'internal' : 'bad_request'), reason });
  });

  app.get('/healthz', async (_req, reply) => {
    const ready = opts.ready ? opts.ready() : true;
    return reply.code(ready ? 200 : 503).send({ ok: ready });
  });
  app.get('/metrics', async (_req, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()));

  await app.register(async (scope) =>
    hooksRoutes(scope, {
      store: opts.store,
      webhookSecret: opts.webhookSecret,
      maxBytes: opts.maxWebhookBytes,
      maxAttempts: opts.maxAttempts,
      metrics,
    }),
  );
  await app.register(async (scope) =>
    apiRoutes(scope, {
      store: opts.store,
      adminToken: opts.adminToken,
      privateReads: opts.privateReads,
      version: opts.version,
      maxAttempts: opts.maxAttempts,
      werkers: opts.werkers,
    }),
  );
  // Werkers on other machines (`ocelot werker`); `ocelot up`'s own werker skips HTTP but is fenced the same way.
  const closing = new AbortController();
  app.addHook('onClose', async () => closing.abort());
  await app.register(async (scope) =>
    werkerRoutes(scope, { store: opts.store, adminToken: opts.adminToken, leaseMs: opts.leaseMs, closing: closing.signal }),
  );
  await app.register(async (scope) => werkerTokenRoutes(scope, { store: opts.store, adminToken: opts.adminToken }));
  return app;
}
