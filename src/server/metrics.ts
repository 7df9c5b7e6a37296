/**
 * Prometheus metrics with bounded labels (forge and outcome only: never commits, repos or stage names).
 */
import { Registry, Counter, Histogram, collectDefaultMetrics } from 'prom-client';

export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'ocelot_' });
  return {
    registry,
    webhooks: new Counter({
      name: 'ocelot_webhooks_total',
      help: 'Webhook deliveries by forge and outcome (build, ignore, duplicate, unauthorized, bad_request)',
      labelNames: ['forge', 'outcome'] as const,
      registers: [registry],
    }),
    webhookSeconds: new Histogram({
      name: 'ocelot_webhook_duration_seconds',
      help: 'Time to verify, normalize and durably record a webhook',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5],
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
