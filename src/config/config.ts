/**
 * One typed configuration object for the server side, resolved as flags > environment > data-dir files >
 * defaults. Every setting is listed in docs/configuration.md with its env var and default.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';

export interface ServerConfig {
  port: number;
  host: string;
  dataDir: string;
  /** `sqlite:<file>` (embedded) or `postgres://…` */
  databaseUrl: string;
  /** Embedded: log bytes live in files here, indexed by the database. */
  logsDir: string | undefined;
  webhookSecret: string;
  adminToken: string;
  /** Public base URL printed with the webhook URLs. */
  publicUrl: string;
  /** Webhook bodies larger than this get 413. */
  maxWebhookBytes: number;
  /** Attempts a build gets when its werker is lost. */
  maxAttempts: number;
  leaseMs: number;
  /** Require the admin token for reads too (default: reads are open, writes need the token). */
  privateReads: boolean;
}

export interface Secrets {
  webhookSecret: string;
  adminToken: string;
  /** Where each came from, for the start-up banner. */
  generated: { webhookSecret: boolean; adminToken: boolean };
}

/**
 * The webhook secret and admin token come from the environment when set; otherwise they are generated once,
 * kept in the data dir (mode 0600) and reused on the next start, so webhooks configured on the forge keep working.
 */
export function loadOrCreateSecrets(dataDir: string, env: NodeJS.ProcessEnv = process.env): Secrets {
  const fromFile = (name: string): { value: string; generated: boolean } => {
    const file = path.join(dataDir, name);
    try {
      const value = fs.readFileSync(file, 'utf8').trim();
      if (value) return { value, generated: false };
    } catch {
      /* not there yet */
    }
    const value = randomBytes(24).toString('base64url');
    fs.mkdirSync(dataDir, { recursive: true });
    fs.writeFileSync(file, `${value}\n`, { mode: 0o600 });
    return { value, generated: true };
  };
  const hook = env.OCELOT_WEBHOOK_SECRET ? { value: env.OCELOT_WEBHOOK_SECRET, generated: false } : fromFile('webhook-secret');
  const admin = env.OCELOT_ADMIN_TOKEN ? { value: env.OCELOT_ADMIN_TOKEN, generated: false } : fromFile('admin-token');
  return { webhookSecret: hook.value, adminToken: admin.value, generated: { webhookSecret: hook.generated, adminToken: admin.generated } };
}

export function intFrom(value: string | undefined, fallback: number, what: string): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${what} must be a non-negative integer, got '${value}'`);
  return n;
}

export const DEFAULTS = {
  port: 8088,
  host: '0.0.0.0',
  dataDir: '.ocelot-data',
  maxWebhookBytes: 5 * 1024 * 1024,
  maxAttempts: 2,
  leaseMs: 15_000,
  slots: 2,
  cloneDepth: 50,
  stageTimeoutMs: 60 * 60_000,
  killGraceMs: 10_000,
} as const;
