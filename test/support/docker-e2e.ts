/**
 * Shared pieces of the process-level docker tests: the engine check (fail loudly, never skip silently), a
 * window on the containers of one build, and the webhook/status helpers every e2e file would otherwise repeat.
 */
import type { ChildProcess } from 'node:child_process';
import { connectDocker, LABEL_ATTEMPT, LABEL_BUILD, LABEL_WERKER, probeDocker } from '../../src/runtimes/docker/index.js';
import type { GitHttpServer } from '../../src/devtools/git-http-server.js';
import type { TestRepo } from '../../src/devtools/test-repo.js';
import { repointGithubPush } from '../../src/devtools/payloads.js';
import { githubDeliveryHeaders } from '../../src/forges/github/sign.js';
import { ocelotJson } from './ocelot-process.js';
import { fixture } from './fixtures.js';

export const SKIP_DOCKER = process.env.OCELOT_SKIP_DOCKER_TESTS === '1';
export const TEST_IMAGE = process.env.OCELOT_TEST_IMAGE ?? 'ocelot-test/busybox:latest';

export async function requireEngine(): Promise<void> {
  const health = await probeDocker({ timeoutMs: 5_000 });
  if (!health.ok) {
    throw new Error(
      `these tests run builds in Docker and no engine answers (${health.reason}). ` +
        'Run scripts/ensure-docker.sh (installs and starts one, builds the test image), or set OCELOT_SKIP_DOCKER_TESTS=1 to skip them.',
    );
  }
}

export interface ContainerSummary {
  id: string;
  state: string;
  labels: Record<string, string>;
}

/** Containers (running or not) of one build of one werker, as `docker ps -a --filter label=…` lists them. */
export async function containersOf(buildId: number, werkerId: string, attempt?: number): Promise<ContainerSummary[]> {
  const { docker } = await connectDocker();
  const label = [`${LABEL_BUILD}=${buildId}`, `${LABEL_WERKER}=${werkerId}`];
  if (attempt !== undefined) label.push(`${LABEL_ATTEMPT}=${attempt}`);
  const list = await docker.listContainers({ all: true, filters: { label } });
  return list.map((c) => ({ id: c.Id, state: c.State, labels: c.Labels ?? {} }));
}

export async function removeContainer(id: string): Promise<void> {
  const { docker } = await connectDocker();
  await docker.getContainer(id).remove({ force: true }).catch(() => undefined);
}

export async function waitUntil<T>(what: string, probe: () => Promise<T | undefined | null | false>, timeoutMs: number, everyMs = 150): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export interface StatusJson {
  build: { id: number; state: string; reason: string | null; attempt: number; werkerId: string | null; commit: string };
  stages: Array<{ ordinal: number; name: string; kind: string; state: string; exitCode: number | null; reason: string | null }>;
  attempts: Array<{ attempt: number; state: string; reason: string | null; werkerId: string | null }>;
}

export function status(id: number, env: NodeJS.ProcessEnv): Promise<StatusJson> {
  return ocelotJson<StatusJson>(['status', '--build-id', String(id)], env);
}

export async function waitFinal(id: number, env: NodeJS.ProcessEnv, timeoutMs = 60_000, explain: () => string = () => ''): Promise<StatusJson> {
  let last: StatusJson | undefined;
  try {
    return await waitUntil(
      `build ${id} to end`,
      async () => {
        last = await status(id, env);
        return !['QUEUED', 'RUNNING'].includes(last.build.state) && last;
      },
      timeoutMs,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; last status ${JSON.stringify(last)}\n${explain()}`);
  }
}

/** A real GitHub push payload, re-pointed at a repository of the local git server, signed and delivered. */
export async function pushGithub(opts: { upUrl: string; secret: string; git: GitHttpServer; repo: TestRepo; account: string; name: string; message: string }): Promise<number> {
  const { repo } = opts;
  const head = repo.commits[repo.commits.length - 1]!;
  const before = repo.commits[repo.commits.length - 2] ?? '0'.repeat(40);
  const payload = repointGithubPush(fixture('webhooks/github/push.branch.one-commit.json'), {
    cloneUrl: `${opts.git.url}/${opts.account}/${opts.name}.git`,
    account: opts.account,
    repo: opts.name,
    branch: repo.branch,
    before,
    commits: [{ id: head, message: opts.message, modified: ['ocelot.yml'] }],
    sender: 'octocat',
  });
  const body = JSON.stringify(payload);
  const res = await fetch(`${opts.upUrl}/hooks/github`, {
    method: 'POST',
    headers: githubDeliveryHeaders('push', body, opts.secret, `gh-${head}-${Date.now()}`),
    body,
  });
  const answer = (await res.json()) as { buildIds?: number[] };
  if (res.status !== 202 || !answer.buildIds?.[0]) throw new Error(`webhook answered ${res.status}: ${JSON.stringify(answer)}`);
  return answer.buildIds[0];
}

export function isAlive(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}
