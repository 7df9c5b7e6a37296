/**
 * Who may speak the werker protocol: a live werker token (issued with `ocelot werker-token create`), or the
 * admin token (handy for a first werker and for tests). Checked on every request (a live token is remembered
 * for a second per replica), so a revoked token stops working within about two seconds: its next call after
 * the revocation, and a running build's lease renewals come every second.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Store } from '../store/store.js';
import { bearer, tokenMatches } from './auth.js';

export function requireWerkerToken(store: Store, adminToken: string) {
  return async (req: FastifyRequest, reply: FastifyReply) => {
    const token = bearer(req);
    if (token && (tokenMatches(token, adminToken) || (await store.checkWerkerToken(token)))) return;
    return reply.code(401).send({
      error: 'unauthorized',
      reason: 'the werker protocol needs a werker token (ocelot werker-token create <name>) as "Authorization: Bearer <token>"',
    });
  };
}
