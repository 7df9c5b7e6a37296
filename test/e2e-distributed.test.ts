/**
 * Distributed mode with real processes on real PostgreSQL: `ocelot server --database postgres://…` and
 * `ocelot werker` processes talking over the HTTP werker protocol, a signed GitHub push, the CLI's --json as the
 * only window. One throwaway database per run (src/store/pg-test-db.ts).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGitHttpServer, type GitHttpServer } from '../src/devtools/git-http-server.js';
import { addCommit, createTestRepo, type TestRepo } from '../src/devtools/test-repo.js';
import { repointGithubPush } from '../src/devtools/payloads.js';
import { githubDeliveryHeaders } from '../src/forges/github/sign.js';
import { testDatabase, type TestDatabase } from '../src/store/pg-test-db.js';
import { ocelot, ocelotJson } from './support/ocelot-process.js';
import { startDaemon, type Daemon } from './support/ocelot-daemon.js';
import { fixture } from './support/fixtures.js';

const SECRET = 'dist-webhook-secret';
const ADMIN = 'dist-admin-token';
/** Short leases so a killed werker is noticed in seconds, not the default 15. */
const LEASE_MS = '3000';

interface StatusJson {
  build: { id: number; state: string; reason: string | null; attempt: number; werkerId: string | null };
  stages: Array<{ name: string; state: string; exitCode: number | null }>;
  attempts: Array<{ attempt: number; state: string; reason: string | null; werkerId: string }>;
}

const PIPELINE = `buildTool: shell
stages:
  - name: build
    script: ["echo built on $(hostname) for $GIT_BRANCH"]
  - name: test
    script: ["echo tested"]
`;

describe('distributed: ocelot server on PostgreSQL + ocelot werker processes', () => {
  let tmp: string;
  let db: TestDatabase;
  let git: GitHttpServer;
  let repo: TestRepo;
  let server: Daemon;
  const werkers: Daemon[] = [];
  let env: NodeJS.ProcessEnv;
  let url: string;

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ocelot-dist-'));
    db = testDatabase();
    await db.create();
    repo = await createTestRepo(path.join(tmp, 'git', 'acme'), { 'ocelot.yml': PIPELINE }, { name: 'widgets' });
    git = await startGitHttpServer({ root: path.join(tmp, 'git') });
    server = await startDaemon(
      ['server', '--database', db.url, '--host', '127.0.0.1', '--port', '0', '--data-dir', path.join(tmp, 'server')],
      { OCELOT_WEBHOOK_SECRET: SECRET, OCELOT_ADMIN_TOKEN: ADMIN, OCELOT_LEASE_MS: LEASE_MS },
      /listening at (http:\/\/\S+)/,
    );
    url = server.matched;
    env = { OCELOT_SERVER: url, OCELOT_TOKEN: ADMIN, NO_COLOR: '1' };
  });

  afterAll(async () => {
    for (const w of werkers) await w.stop('SIGKILL');
    await server?.stop();
    await git?.close();
    await db?.drop().catch(() => undefined);
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  async function startWerker(name: string): Promise<Daemon> {
    const created = await ocelotJson<{ token: string }>(['werker-token', 'create', name], env);
    const w = await startDaemon(
      ['werker', '--server', url, '--token', created.token, '--name', name, '--work-dir', path.join(tmp, name), '--no-docker', '--slots', '1'],
      { OCELOT_LEASE_MS: LEASE_MS, OCELOT_TOKEN: '', OCELOT_SERVER: '' },
      new RegExp(`werker ${name} \\(`),
    );
    werkers.push(w);
    return w;
  }

  async function push(message: string): Promise<number> {
    const head = repo.commits[repo.commits.length - 1]!;
    const payload = repointGithubPush(fixture('webhooks/github/push.branch.one-commit.json'), {
      cloneUrl: `${git.url}/acme/widgets.git`,
      account: 'acme',
      repo: 'widgets',
      branch: repo.branch,
      before: repo.commits[repo.commits.length - 2] ?? '0'.repeat(40),
      commits: [{ id: head, message, modified: ['ocelot.yml'] }],
      sender: 'octocat',
    });
    const body = JSON.stringify(payload);
    const res = await fetch(`${url}/hooks/github`, { method: 'POST', headers: githubDeliveryHeaders('push', body, SECRET, `gh-${head}`), body });
    const answer = (await res.json()) as { buildIds?: number[] };
    expect(res.status, JSON.stringify(answer)).toBe(202);
    return answer.buildIds![0]!;
  }

  async function waitFor(id: number, done: (s: StatusJson) => boolean, timeoutMs = 40_000): Promise<StatusJson> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = await ocelotJson<StatusJson>(['status', '--build-id', String(id)], env);
      if (done(s)) return s;
      if (Date.now() > deadline) throw new Error(`build ${id}: ${JSON.stringify(s)}\n--- server\n${server.output()}\n--- werkers\n${werkers.map((w) => w.output()).join('\n---\n')}`);
      await new Promise((r) => setTimeout(r, 150));
    }
  }
  const final = (s: StatusJson) => !['QUEUED', 'RUNNING'].includes(s.build.state);

  it('a signed GitHub push runs on a remote werker to PASSED, with its stages and log; ocelot werkers lists it', async () => {
    await startWerker('w1');
    const id = await push('first distributed build');
    const s = await waitFor(id, final);
    expect(s.build.state, s.build.reason ?? '').toBe('PASSED');
    expect(s.stages.map((x) => [x.name, x.state])).toEqual([
      ['workspace', 'PASSED'],
      ['validation', 'PASSED'],
      ['build', 'PASSED'],
      ['test', 'PASSED'],
    ]);
    const logs = await ocelot(['logs', String(id)], env);
    expect(logs.stdout).toContain(`for ${repo.branch}`);
    expect(logs.stdout).toContain('tested');
    const listed = await ocelotJson<{ werkers: Array<{ name: string; online: boolean; slots: number; runtimes: string[] }> }>(['werkers'], env);
    expect(listed.werkers.find((w) => w.name === 'w1')).toMatchObject({ online: true, slots: 1, runtimes: ['host'] });
  });

  it('13 MB printed just before the build ends: PASSED, and the stored log is complete (reports stay bounded)', async () => {
    await addCommit(repo, {
      'ocelot.yml': `buildTool: shell
stages:
  - name: burst
    script: ["yes abcdefghijklmnopqrstuvwxyz | head -c 13000000", "echo END"]
`,
    }, { message: 'burst at the end' });
    const id = await push('burst at the end');
    const s = await waitFor(id, final, 60_000);
    expect(s.build.state, s.build.reason ?? '').toBe('PASSED');
    expect(s.attempts.map((a) => a.state)).toEqual(['PASSED']);
    const logs = await ocelot(['logs', String(id)], env);
    const burst = logs.stdout.slice(logs.stdout.indexOf('abcdefghijklmnopqrstuvwxyz'), logs.stdout.indexOf('END'));
    expect(burst.length).toBe(13_000_000);
    expect(logs.stdout).toMatch(/END\s*$/);
  });

  it('kill -9 of the werker in a sleep stage: attempt 1 is LOST with the reason, attempt 2 passes on another werker', async () => {
    await addCommit(repo, {
      'ocelot.yml': `buildTool: shell
stages:
  - name: wait
    script: ["echo waiting", "sleep 4"]
  - name: after
    script: ["echo after"]
`,
    }, { message: 'slow build' });
    const victim = werkers[0]!;
    const id = await push('slow build');
    await waitFor(id, (s) => s.stages.find((x) => x.name === 'wait')?.state === 'RUNNING', 20_000);
    await victim.stop('SIGKILL');
    await startWerker('w2');
    const s = await waitFor(id, final, 60_000);
    expect(s.build.state, s.build.reason ?? '').toBe('PASSED');
    expect(s.build.attempt).toBe(2);
    expect(s.attempts.map((a) => a.state)).toEqual(['LOST', 'PASSED']);
    expect(s.attempts[0]!.reason).toMatch(/werker w1 stopped renewing its lease at/);
    // Werkers are named by their names, not their ids, in `ocelot status`.
    expect((s.attempts[0] as { werkerName?: string }).werkerName).toBe('w1');
    const human = await ocelot(['status', '--build-id', String(id)], { ...env, NO_COLOR: '1' });
    expect(human.stdout).toContain('attempt 1: LOST on werker w1');
    expect(human.stdout).toMatch(/attempt:\s+2 of 2\s+on werker w2/);
    // The build list (ocelot summary, GET /api/v1/builds) names the werkers too, as the single-build answer does.
    const summary = await ocelotJson<{ builds: Array<{ id: number; werkerId: string | null; werkerName: string | null }> }>(['summary', '--limit', '100'], env);
    expect(summary.builds.find((b) => b.id === id)).toMatchObject({ werkerName: 'w2' });
    for (const b of summary.builds) {
      const one = await ocelotJson<{ build: { werkerName: string | null } }>(['status', '--build-id', String(b.id)], env);
      expect(b.werkerId, `build ${b.id}`).not.toBeNull();
      expect(b.werkerName, `build ${b.id}`).toBe(one.build.werkerName);
      expect(b.werkerName, `build ${b.id}`).toMatch(/^w[12]$/);
    }
  });
});
