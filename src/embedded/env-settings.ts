import { DEFAULTS, intFrom } from '../config/config.js';

/**
 * Settings that server replicas and werkers must agree on, from the environment (docs/deployment.md): the lease
 * length (werkers renew every third of it) and the attempts a build gets when its werker is lost.
 */
export function leaseMsFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  return Math.max(1_000, intFrom(env.OCELOT_LEASE_MS, DEFAULTS.leaseMs, 'OCELOT_LEASE_MS'));
}

/** OCELOT_SPOOL_MAX_MB (werker): unacknowledged log output a build may pile up while the server is away. */
export function spoolMaxBytesFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  return Math.max(1, intFrom(env.OCELOT_SPOOL_MAX_MB, 256, 'OCELOT_SPOOL_MAX_MB')) * 1024 * 1024;
}

export function maxAttemptsFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  return Math.max(1, intFrom(env.OCELOT_MAX_ATTEMPTS, DEFAULTS.maxAttempts, 'OCELOT_MAX_ATTEMPTS'));
}
