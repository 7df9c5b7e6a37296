/**
 * The werker protocol over HTTP (docs/werker-protocol.md): the server side of `WerkerServerClient` for werkers on
 * other machines. Plain JSON POSTs plus a long-poll claim, so it passes any proxy and needs no extra library.
 *
 * Every write is fenced by the store: a lost lease is answered 409 `{ error: 'lease_lost' }` and the client turns
 * that back into LeaseLostError. Retries are safe: renew, stages and logs are idempotent by nature, and a retried
 * finish or hand-back whose first try did land (the answer was lost) is recognized by the claim's lease token
 * and answered as a success.
 *
 * A werker id belongs to the token that first registered it (store/werkers.ts): a register or claim for an id held
 * by another live token is answered 409 `{ error: 'werker_id_taken' }`. Names, tags and runtimes must match
 * WERKER_LABEL_PATTERN (400 with the rule).
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { AttemptState } from '../store/schema.js';
import type { Store } from '../store/store.js';
import { claimWaiting } from '../store/claim-wait.js';
import {
  LeaseLostError,
  MAX_CLAIM_WAIT_MS,
  WERKER_API,
  WerkerIdTakenError,
  reportFromWire,
  werkerInfoProblem,
  type Lease,
  type WerkerInfo,
  type WerkerStatus,
  type WireAttemptReport,
} from '../werker/protocol.js';
import { refuseWerker, requireWerkerToken, werkerOwner, werkerTokenIsLive } from './werker-auth.js';

export interface WerkerRoutesDeps {
  store: Store;
  adminToken: string;
  leaseMs: number;
  /** Aborted when the server closes: open long-polls answer 204 at once instead of holding shutdown up. */
  closing: AbortSignal;
}

/** A report carries at most 16 chunks of 256 KiB per batch (plus a few held at the end), base64-encoded. */
const REPORT_BODY_LIMIT = 16 * 1024 * 1024;

const leaseSchema = {
  type: 'object',
  required: ['buildId', 'attempt', 'token'],
  properties: { buildId: { type: 'integer' }, attempt: { type: 'integer' }, token: { type: 'string', minLength: 1 } },
} as const;

const werkerSchema = {
  type: 'object',
  required: ['id', 'name', 'tags', 'runtimes', 'slots', 'version'],
  properties: {
    id: { type: 'string', minLength: 1, maxLength: 200 },
    name: { type: 'string', minLength: 1, maxLength: 200 },
    tags: { type: 'array', items: { type: 'string' } },
    runtimes: { type: 'array', items: { type: 'string' } },
    slots: { type: 'integer', minimum: 1 },
    version: { type: 'string' },
  },
} as const;

const stageSchema = {
  type: 'object',
  required: ['ordinal', 'name', 'kind', 'state'],
  properties: { ordinal: { type: 'integer' }, name: { type: 'string' }, kind: { type: 'string' }, state: { type: 'string' } },
} as const;

const chunkSchema = {
  type: 'object',
  required: ['seq', 'stageOrdinal', 'offset', 'data'],
  properties: { seq: { type: 'integer', minimum: 0 }, stageOrdinal: { type: 'integer' }, offset: { type: 'integer', minimum: 0 }, data: { type: 'string' } },
} as const;

const body = (properties: Record<string, unknown>, required: string[]) => ({ schema: { body: { type: 'object', required, properties } } });

export async function werkerRoutes(app: FastifyInstance, deps: WerkerRoutesDeps): Promise<void> {
  const { store } = deps;
  app.addHook('preHandler', requireWerkerToken(store, deps.adminToken));

  app.post<{ Body: { werker: WerkerInfo; status?: WerkerStatus } }>(
    `${WERKER_API}/register`,
    body({ werker: werkerSchema, status: { type: 'string', enum: ['online', 'offline'] } }, ['werker']),
    async (req, reply) => {
      const problem = werkerInfoProblem(req.body.werker);
      if (problem) return badWerker(reply, problem);
      try {
        await store.registerWerker(req.body.werker, req.body.status ?? 'online', werkerOwner(deps.adminToken, req));
      } catch (err) {
        if (err instanceof WerkerIdTakenError) return idTaken(reply, err);
        throw err;
      }
      // The lease length travels to the werker here, so only the servers have to be configured with it.
      return { ok: true, leaseMs: deps.leaseMs };
    },
  );

  app.post<{ Body: { werker: WerkerInfo; waitMs?: number } }>(
    `${WERKER_API}/claim`,
    body({ werker: werkerSchema, waitMs: { type: 'integer', minimum: 0 } }, ['werker']),
    async (req, reply) => {
      const problem = werkerInfoProblem(req.body.werker);
      if (problem) return badWerker(reply, problem);
      const waitMs = Math.min(req.body.waitMs ?? 0, MAX_CLAIM_WAIT_MS);
      // The werker gave up (aborted, timed out, died): stop waiting for it.
      const gone = new AbortController();
      const onClose = () => gone.abort();
      reply.raw.once('close', onClose);
      try {
        let claimed;
        try {
          const signal = AbortSignal.any([gone.signal, deps.closing]);
          claimed = await claimWaiting(store, req.body.werker, deps.leaseMs, waitMs, signal, werkerOwner(deps.adminToken, req));
        } catch (err) {
          if (err instanceof WerkerIdTakenError) return idTaken(reply, err);
          throw err;
        }
        if (!claimed) return reply.code(204).send();
        if (gone.signal.aborted) {
          // Nobody will receive this claim: give it back now rather than let it expire and cost an attempt.
          await store.handBack(claimed.lease, claimed.requires, 'the werker disconnected before its claim reached it');
          return;
        }
        // The token was checked when the long-poll began; it may have been revoked while the werker waited.
        if (!(await werkerTokenIsLive(store, deps.adminToken, req))) {
          await store.handBack(claimed.lease, claimed.requires, 'the werker token was revoked while the werker waited for a build');
          return refuseWerker(reply, 'refused');
        }
        return { claim: claimed };
      } finally {
        reply.raw.off('close', onClose);
      }
    },
  );

  app.post<{ Body: { lease: Lease } }>(`${WERKER_API}/renew`, body({ lease: leaseSchema }, ['lease']), async (req, reply) =>
    fenced(reply, () => store.renew(req.body.lease, deps.leaseMs)),
  );

  app.post<{ Body: { lease: Lease; requires: string[]; reason: string } }>(
    `${WERKER_API}/hand-back`,
    body({ lease: leaseSchema, requires: { type: 'array', items: { type: 'string' } }, reason: { type: 'string' } }, ['lease', 'requires', 'reason']),
    async (req, reply) =>
      fenced(reply, () => store.handBack(req.body.lease, req.body.requires, req.body.reason), () => alreadyEnded(store, req.body.lease, ['HANDED_BACK'])),
  );

  app.post<{ Body: { lease: Lease } & WireAttemptReport }>(
    `${WERKER_API}/report`,
    {
      bodyLimit: REPORT_BODY_LIMIT,
      schema: {
        body: {
          type: 'object',
          required: ['lease'],
          properties: {
            lease: leaseSchema,
            stages: { type: 'array', items: stageSchema },
            chunks: { type: 'array', items: chunkSchema },
            finish: {
              type: 'object',
              required: ['state'],
              properties: {
                state: { type: 'string', enum: ['PASSED', 'FAILED', 'CANCELLED', 'FAILED_PRESTART', 'SKIPPED'] },
                reason: { type: ['string', 'null'] },
              },
            },
          },
        },
      },
    },
    async (req, reply) => {
      const { lease, ...wire } = req.body;
      const report = reportFromWire(wire);
      if (report.finish) report.finish = { state: report.finish.state, reason: report.finish.reason ?? null };
      return fenced(
        reply,
        () => store.report(lease, report),
        // A retried final report whose first try landed: the claim already ended in the state it asks for.
        report.finish ? () => alreadyEnded(store, lease, [report.finish!.state]) : undefined,
      );
    },
  );
}

function badWerker(reply: FastifyReply, reason: string) {
  return reply.code(400).send({ error: 'bad_request', reason });
}

function idTaken(reply: FastifyReply, err: WerkerIdTakenError) {
  return reply.code(409).send({ error: 'werker_id_taken', reason: err.message });
}

/** Run a lease-fenced write; a lost lease is 409 unless `repeat` says this very request already took effect. */
async function fenced<T>(reply: FastifyReply, write: () => Promise<T>, repeat?: () => Promise<boolean>): Promise<T | { ok: true }> {
  try {
    const result = await write();
    return result === undefined ? { ok: true } : result;
  } catch (err) {
    if (!(err instanceof LeaseLostError)) throw err;
    if (repeat && (await repeat())) return { ok: true };
    return reply.code(409).send({ error: 'lease_lost', reason: err.message });
  }
}

async function alreadyEnded(store: Store, lease: Lease, states: AttemptState[]): Promise<boolean> {
  const outcome = await store.attemptOutcome(lease);
  return outcome !== null && states.includes(outcome);
}
