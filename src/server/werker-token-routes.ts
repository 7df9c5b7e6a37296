/**
 * Admin API for werker tokens (`ocelot werker-token create|list|revoke`). The token is in the answer to create
 * and nowhere else, ever: the store keeps only its hash.
 */
import type { FastifyInstance } from 'fastify';
import type { Store } from '../store/store.js';
import { WerkerTokenError } from '../store/werker-tokens.js';
import { requireToken } from './auth.js';
import { werkerTokenView } from './views.js';

export async function werkerTokenRoutes(app: FastifyInstance, deps: { store: Store; adminToken: string }): Promise<void> {
  const { store } = deps;
  app.addHook('preHandler', requireToken(deps.adminToken));

  app.post<{ Body: { name?: unknown } }>('/api/v1/werker-tokens', async (req, reply) => {
    const name = req.body?.name;
    if (typeof name !== 'string') return reply.code(400).send({ error: 'bad_request', reason: 'give the token a name: {"name": "build-box-1"}' });
    try {
      return reply.code(201).send(await store.createWerkerToken(name));
    } catch (err) {
      if (err instanceof WerkerTokenError) return reply.code(err.code === 'duplicate' ? 409 : 400).send({ error: err.code, reason: err.message });
      throw err;
    }
  });

  app.get('/api/v1/werker-tokens', async () => ({ tokens: (await store.listWerkerTokens()).map(werkerTokenView) }));

  app.delete<{ Params: { idOrName: string } }>('/api/v1/werker-tokens/:idOrName', async (req, reply) => {
    const revoked = await store.revokeWerkerToken(req.params.idOrName);
    if (revoked.length === 0) {
      return reply.code(404).send({ error: 'not_found', reason: `no live werker token with id or name '${req.params.idOrName}'` });
    }
    return { revoked: revoked.map(werkerTokenView) };
  });
}
