/**
 * /api/v1 — the JSON API the CLI uses. Reads are open unless `privateReads`; every write needs the admin token.
 */
import type { FastifyInstance } from 'fastify';
import os from 'node:os';
import type { BuildEvent } from '../events/model.js';
import type { Store } from '../store/store.js';
import { requireToken } from './auth.js';
import { streamLogs } from './log-stream.js';
import { resolveBranchHead } from './resolve-ref.js';
import { attemptView, buildView, stageView, werkerView } from './views.js';

export interface ApiDeps {
  store: Store;
  adminToken: string;
  privateReads: boolean;
  version: string;
  maxAttempts: number;
  werkers?: () => Promise<unknown[]>;
}

interface TriggerBody {
  acctRepo?: string;
  branch?: string;
  hash?: string;
  force?: boolean;
  keepContainer?: boolean;
  triggeredBy?: string;
}

export async function apiRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const { store } = deps;
  const write = { preHandler: requireToken(deps.adminToken) };
  if (deps.privateReads) app.addHook('preHandler', requireToken(deps.adminToken));

  app.get('/api/v1/version', async () => ({ version: deps.version, api: 1 }));

  app.get<{ Querystring: { acctRepo?: string; account?: string; hash?: string; limit?: string } }>('/api/v1/builds', async (req) => {
    const limit = req.query.limit ? Math.min(1000, Math.max(1, Number(req.query.limit) || 20)) : 20;
    const builds = await store.listBuilds({
      acctRepoGlob: req.query.acctRepo,
      account: req.query.account,
      hashPrefix: req.query.hash,
      limit,
    });
    // The werkers' names in one query for the whole page, not one per build.
    const names = await store.werkerNames(builds.flatMap((b) => (b.werkerId ? [b.werkerId] : [])));
    return { builds: builds.map((b) => buildView(b, names)) };
  });

  app.get<{ Querystring: { prefix?: string } }>('/api/v1/commits', async (req, reply) => {
    const prefix = (req.query.prefix ?? '').toLowerCase();
    if (!/^[0-9a-f]{1,40}$/.test(prefix)) return reply.code(400).send({ error: 'bad_request', reason: 'prefix must be 1-40 hex characters' });
    return { commits: await store.commitsByPrefix(prefix, 50) };
  });

  app.get<{ Params: { id: string } }>('/api/v1/builds/:id', async (req, reply) => {
    const build = await store.getBuild(Number(req.params.id));
    if (!build) return reply.code(404).send({ error: 'not_found', reason: `build ${req.params.id} does not exist` });
    const [stages, attempts] = await Promise.all([store.getStages(build.id), store.getAttempts(build.id)]);
    const names = await store.werkerNames([...(build.werkerId ? [build.werkerId] : []), ...attempts.map((a) => a.werkerId)]);
    return { build: buildView(build, names), stages: stages.map(stageView), attempts: attempts.map((a) => attemptView(a, names)) };
  });

  app.get<{ Params: { id: string }; Querystring: { attempt?: string; from?: string; follow?: string } }>(
    '/api/v1/builds/:id/logs',
    (req, reply) => streamLogs(store, req, reply),
  );

  app.post<{ Params: { id: string }; Body: { reason?: string } }>('/api/v1/builds/:id/cancel', write, async (req, reply) => {
    const by = typeof req.body?.reason === 'string' ? req.body.reason : 'cancelled with ocelot kill';
    const build = await store.requestCancel(Number(req.params.id), by);
    if (!build) return reply.code(404).send({ error: 'not_found', reason: `build ${req.params.id} does not exist` });
    return { build: buildView(build, await store.werkerNames(build.werkerId ? [build.werkerId] : [])) };
  });

  app.post<{ Body: TriggerBody }>('/api/v1/builds', write, async (req, reply) => {
    const body = req.body ?? {};
    if (!body.acctRepo || !/^[^/\s]+\/[^/\s]+$/.test(body.acctRepo)) {
      return reply.code(400).send({ error: 'bad_request', reason: 'acctRepo must look like account/repo' });
    }
    const repo = await store.findRepo(body.acctRepo);
    if (!repo) {
      return reply.code(404).send({
        error: 'unknown_repo',
        reason: `Ocelot has not seen ${body.acctRepo} yet: it learns a repository's clone URL from its first webhook`,
      });
    }
    let commit: string | undefined;
    let branch = body.branch;
    if (body.hash) {
      const hash = body.hash.toLowerCase();
      if (!/^[0-9a-f]{4,40}$/.test(hash)) return reply.code(400).send({ error: 'bad_request', reason: 'hash must be 4-40 hex characters' });
      const known = (await store.commitsByPrefix(hash, 10)).filter((c) => `${c.account}/${c.repo}` === body.acctRepo);
      if (known.length > 1) {
        return reply.code(409).send({ error: 'ambiguous', reason: `hash ${hash} matches several commits: ${known.map((k) => k.commit).join(', ')}; give more characters` });
      }
      commit = known[0]?.commit ?? (hash.length === 40 ? hash : undefined);
      if (!commit) return reply.code(404).send({ error: 'unknown_commit', reason: `no build of ${body.acctRepo} has a commit starting with ${hash}; give the full 40-character hash` });
      if (!branch) {
        const previous = (await store.listBuilds({ acctRepoGlob: body.acctRepo, hashPrefix: commit, limit: 1 }))[0];
        branch = previous?.branch ?? undefined;
      }
    } else if (branch) {
      try {
        commit = (await resolveBranchHead(repo.cloneUrl, branch)) ?? undefined;
      } catch (err) {
        return reply.code(502).send({ error: 'git_failed', reason: err instanceof Error ? err.message : String(err) });
      }
      if (!commit) return reply.code(404).send({ error: 'unknown_branch', reason: `branch ${branch} does not exist in ${body.acctRepo}` });
    } else {
      return reply.code(400).send({ error: 'bad_request', reason: 'give a branch (--branch) or a commit (--hash) to build' });
    }
    const event: BuildEvent = {
      forge: repo.forge as BuildEvent['forge'],
      kind: 'manual',
      account: repo.account,
      repo: repo.repo,
      cloneUrl: repo.cloneUrl,
      commit,
      branch,
      commitMessages: [],
      changedFiles: null,
      sender: `cli:${(body.triggeredBy ?? os.userInfo().username).slice(0, 64)}`,
      force: body.force === true,
      keepContainer: body.keepContainer === true,
    };
    const build = await store.createBuild(event, { maxAttempts: deps.maxAttempts });
    return reply.code(201).send({ build: buildView(build) });
  });

  app.get('/api/v1/werkers', async () => ({ werkers: deps.werkers ? await deps.werkers() : (await store.listWerkers()).map((w) => werkerView(w)) }));
}
