/**
 * Who may speak the werker protocol: a live werker token (issued with `ocelot werker-token create`), or the
 * admin token (handy for a first werker and for tests). Checked on every request (a live token is remembered
 * for a second per replica), so a revoked token stops working within about two seconds: its next call after
 * the revocation, and a running build's lease renewals come every second.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Store } from '../store/store.js';
import { hashWerkerToken } from '../store/werker-tokens.js';
import { ADMIN_OWNER } from '../store/werkers.js';
import { bearer, tokenMatches } from './auth.js';

export function requireWerkerToken(store: Store, adminToken: string) {
  return async (req: FastifyRequest, reply: FastifyReply) => {
    const token = bearer(req);
    if (await werkerTokenIsLive(store, adminToken, req)) return;
    return refuseWerker(reply, token ? 'refused' : 'missing');
  };
}

/** Whether the request's token may speak the werker protocol right now. */
export async function werkerTokenIsLive(store: Store, adminToken: string, req: FastifyRequest): Promise<boolean> {
  const token = bearer(req);
  return Boolean(token && (tokenMatches(token, adminToken) || (await store.checkWerkerToken(token))));
}

/**
 * Who is asking, as the owner of the werker ids it registers (store/werkers.ts): the sha256 of its werker token
 * (what werker_tokens keeps), or ADMIN_OWNER. Only after requireWerkerToken let the request through.
 */
export function werkerOwner(adminToken: string, req: FastifyRequest): string {
  const token = bearer(req) ?? '';
  return tokenMatches(token, adminToken) ? ADMIN_OWNER : hashWerkerToken(token);
}

/** 401, saying whether a token was missing or refused (revoked, or never issued). */
export function refuseWerker(reply: FastifyReply, why: 'missing' | 'refused') {
  return reply.code(401).send({
    error: 'unauthorized',
    reason:
      why === 'missing'
        ? 'the werker protocol needs a werker token (ocelot werker-token create <name>) as "Authorization: Bearer <token>"'
        : 'this werker token is not valid: it was revoked, or never issued by this server; ask an admin for a new one (ocelot werker-token create <name>)',
  });
}
