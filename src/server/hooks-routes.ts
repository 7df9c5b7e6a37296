/**
 * POST /hooks/:forge — webhook intake. Order matters: size limit (413, by Fastify) → signature on the exact bytes
 * (401) → normalize (400 with the reason) → record builds and the delivery in one transaction → answer.
 * A 2xx is only sent after the build rows are committed (or with the reason nothing was built).
 */
import type { FastifyInstance } from 'fastify';
import type { BuildEvent } from '../events/model.js';
import { findSkipCi } from '../events/skip-ci.js';
import { getForge } from '../forges/registry.js';
import { WebhookError } from '../forges/webhook-error.js';
import type { NewBuildOptions, Store } from '../store/store.js';
import type { Metrics } from './metrics.js';

export interface HooksDeps {
  store: Store;
  webhookSecret: string;
  maxBytes: number;
  maxAttempts: number;
  metrics: Metrics;
}

export async function hooksRoutes(app: FastifyInstance, deps: HooksDeps): Promise<void> {
  // Webhooks are verified over the raw bytes, so no JSON parsing before we have checked the signature.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: deps.maxBytes }, (_req, body, done) => done(null, body));

  app.post<{ Params: { forge: string } }>('/hooks/:forge', async (req, reply) => {
    const started = process.hrtime.bigint();
    const forge = getForge(req.params.forge);
    if (!forge) {
      return reply.code(404).send({ error: 'unknown_forge', reason: `no webhook endpoint for '${req.params.forge}'; use /hooks/github or /hooks/bitbucket` });
    }
    const count = (outcome: string) => deps.metrics.webhooks.inc({ forge: forge.name, outcome });
    const headers = req.headers as Record<string, string | string[] | undefined>;
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);

    const verified = forge.verifySignature(headers, body, deps.webhookSecret);
    if (!verified.ok) {
      count('unauthorized');
      return reply.code(401).send({ error: 'bad_signature', reason: verified.reason });
    }

    let normalized;
    try {
      normalized = forge.normalize(headers, body);
    } catch (err) {
      if (err instanceof WebhookError) {
        count('bad_request');
        return reply.code(400).send({ error: 'bad_request', reason: err.reason });
      }
      throw err;
    }

    const deliveryId = forge.deliveryId(headers);
    const builds =
      normalized.outcome === 'build'
        ? normalized.events.map((event) => ({ event: { ...event, deliveryId }, options: intakeOptions(event, deps.maxAttempts) }))
        : [];
    const ignored = normalized.outcome === 'ignore' ? normalized.reason : undefined;
    const { duplicate, answer } = await deps.store.recordDelivery(forge.name, deliveryId, builds, ignored);
    deps.metrics.webhookSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
    count(duplicate ? 'duplicate' : answer.outcome);
    const skipped = builds.filter((b) => b.options.state === 'SKIPPED').map((b) => b.options.reason);
    return reply.code(duplicate || answer.outcome === 'ignore' ? 200 : 202).send({
      ...answer,
      ...(skipped.length ? { skipped } : {}),
      ...(duplicate ? { duplicate: true, note: 'this delivery was already received; nothing new was queued' } : {}),
    });
  });
}

/** Builds whose pushed commits say [skip ci] are recorded SKIPPED with the reason, unless forced. */
function intakeOptions(event: BuildEvent, maxAttempts: number): NewBuildOptions {
  const skip = event.force ? null : findSkipCi(event.commitMessages);
  if (skip) {
    return { state: 'SKIPPED', reason: `skipped: commit message contains ${skip.marker} ("${skip.message}")`, maxAttempts };
  }
  return { state: 'QUEUED', maxAttempts };
}
