import { timingSafeEqual, createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** Constant-time token check (hash both sides so lengths never leak through timing or throw). */
export function tokenMatches(given: string | undefined, expected: string): boolean {
  if (!given) return false;
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

export function bearer(req: FastifyRequest): string | undefined {
  const h = req.headers.authorization;
  if (!h) return undefined;
  const m = /^Bearer\s+(.+)$/i.exec(h);
  return m?.[1]?.trim();
}

/** preHandler for routes that change state: the admin token is required. */
export function requireToken(expected: string) {
  return async (req: FastifyRequest, reply: FastifyReply) => {
    const given = bearer(req);
    if (!tokenMatches(given, expected)) {
      return reply.code(401).send({
        error: 'unauthorized',
        // Never echo the token that was sent.
        reason: given
          ? 'the token was rejected: check OCELOT_TOKEN (the admin token printed by ocelot up / kept in <data-dir>/admin-token)'
          : 'this request needs the admin token: set OCELOT_TOKEN (CLI) or send "Authorization: Bearer <token>"',
      });
    }
  };
}
