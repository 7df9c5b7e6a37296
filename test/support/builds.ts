/**
 * Helpers shared by the process-level tests: deliver a real signed GitHub push (a real payload re-pointed at a
 * local repository) and wait for a build through the real CLI's --json output.
 */
import { repointGithubPush } from '../../src/devtools/payloads.js';
import type { TestRepo } from '../../src/devtools/test-repo.js';
import { githubDeliveryHeaders } from '../../src/forges/github/sign.js';
import { fixture } from './fixtures.js';
import { ocelotJson } from './ocelot-process.js';

export interface StatusJson {
  build: {
    id: number;
    acctRepo: string;
    state: string;
    reason: string | null;
    triggeredBy: string;
    event: string;
    commit: string;
    branch: string | null;
    attempt: number;
    queueWaitMs: number | null;
    cancelRequested: boolean;
  };
  stages: Array<{ ordinal: number; name: string; kind: string; state: string; exitCode: number | null; reason: string | null; durationMs: number | null; messages: string[] }>;
  attempts: Array<{ attempt: number; state: string; reason: string | null; werkerId: string }>;
}

export interface PushOptions {
  server: string;
  secret: string;
  /** Base URL of the git smart-HTTP server serving `<account>/<name>.git`. */
  gitUrl: string;
  repo: TestRepo;
  account: string;
  name: string;
  message?: string;
  /** Clone URL to put in the payload (default: the real one on gitUrl). */
  cloneUrl?: string;
  sender?: string;
}

/** Delivers a signed push of the repo's newest commit; returns the queued build's id. */
export async function pushGithub(o: PushOptions): Promise<number> {
  const head = o.repo.commits[o.repo.commits.length - 1]!;
  const before = o.repo.commits[o.repo.commits.length - 2] ?? '0'.repeat(40);
  const payload = repointGithubPush(fixture('webhooks/github/push.branch.one-commit.json'), {
    cloneUrl: o.cloneUrl ?? `${o.gitUrl}/${o.account}/${o.name}.git`,
    account: o.account,
    repo: o.name,
    branch: o.repo.branch,
    before,
    commits: [{ id: head, message: o.message ?? 'a commit', modified: ['ocelot.yml'] }],
    sender: o.sender ?? 'octocat',
  });
  const body = JSON.stringify(payload);
  const delivery = `gh-${head}-${Math.random().toString(36).slice(2)}`;
  const res = await fetch(`${o.server}/hooks/github`, { method: 'POST', headers: githubDeliveryHeaders('push', body, o.secret, delivery), body });
  const answer = (await res.json()) as { buildIds?: number[] };
  if (res.status !== 202 || !answer.buildIds?.[0]) throw new Error(`webhook answered ${res.status}: ${JSON.stringify(answer)}`);
  return answer.buildIds[0];
}

export function status(id: number, env: NodeJS.ProcessEnv): Promise<StatusJson> {
  return ocelotJson<StatusJson>(['status', '--build-id', String(id)], env);
}

/** Polls `ocelot status --json` until the build satisfies `done`. */
export async function waitFor(id: number, env: NodeJS.ProcessEnv, done: (s: StatusJson) => boolean, what: string, timeoutMs = 30_000): Promise<StatusJson> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await status(id, env);
    if (done(s)) return s;
    if (Date.now() > deadline) throw new Error(`build ${id}: ${what} did not happen in ${timeoutMs} ms: ${JSON.stringify(s)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export const isFinal = (s: StatusJson) => !['QUEUED', 'RUNNING'].includes(s.build.state);

export function waitFinal(id: number, env: NodeJS.ProcessEnv, timeoutMs = 30_000): Promise<StatusJson> {
  return waitFor(id, env, isFinal, 'reaching a final state', timeoutMs);
}
