/**
 * End to end on the embedded default: a real `ocelot up` process, real signed webhooks built from real GitHub
 * and Bitbucket payloads (re-pointed at local repositories served over git smart-HTTP), and the real CLI's
 * --json output as the only window into the result.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGitHttpServer, type GitHttpServer } from '../src/devtools/git-http-server.js';
import { addCommit, createTestRepo, type TestRepo } from '../src/devtools/test-repo.js';
import { repointBitbucketPush, repointGithubPush } from '../src/devtools/payloads.js';
import { githubDeliveryHeaders } from '../src/forges/github/sign.js';
import { bitbucketDeliveryHeaders } from '../src/forges/bitbucket/sign.js';
import { ocelot, ocelotJson, startUpProcess, type UpProcess } from './support/ocelot-process.js';
import { fixture } from './support/fixtures.js';

const SECRET = 'e2e-webhook-secret';
const TOKEN = 'e2e-admin-token';

interface StatusJson {
  build: { id: number; state: string; reason: string | null; triggeredBy: string; event: string; queueWaitMs: number | null; commit: string };
  stages: Array<{ ordinal: number; name: string; kind: string; state: string; exitCode: number | null; reason: string | null; durationMs: number | null }>;
}

const PASSING = `buildTool: shell
branches: [ALL]
env: ["GREETING=hi"]
stages:
  - name: build
    script:
      - echo "$GREETING $GIT_BRANCH $GIT_HASH_SHORT"
      - test "$CI" = true && test -n "$BUILD_ID" && test "$(pwd)" = "$WORKSPACE"
  - name: deploy
    triggers: ['\\branch release/.*']
    script: ["echo deploying"]
  - name: test
    env: ["N=2"]
    script:
      - echo "test $N"
`;

describe('ocelot up, end to end', () => {
  let tmp: string;
  let git: GitHttpServer;
  let up: UpProcess;
  let widgets: TestRepo;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ocelot-e2e-'));
    widgets = await createTestRepo(path.join(tmp, 'git', 'acme'), { 'ocelot.yml': PASSING }, { name: 'widgets' });
    git = await startGitHttpServer({ root: path.join(tmp, 'git') });
    up = await startUpProcess(['--data-dir', path.join(tmp, 'data'), '--no-docker', '--slots', '2'], {
      OCELOT_WEBHOOK_SECRET: SECRET,
      OCELOT_ADMIN_TOKEN: TOKEN,
    });
    env = { OCELOT_SERVER: up.url, OCELOT_TOKEN: TOKEN, NO_COLOR: '1' };
  });

  afterAll(async () => {
    await up?.stop();
    await git?.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  async function pushGithub(repo: TestRepo, account: string, name: string, message: string): Promise<number> {
    const head = repo.commits[repo.commits.length - 1]!;
    const before = repo.commits[repo.commits.length - 2] ?? '0'.repeat(40);
    const payload = repointGithubPush(fixture('webhooks/github/push.branch.one-commit.json'), {
      cloneUrl: `${git.url}/${account}/${name}.git`,
      account,
      repo: name,
      branch: repo.branch,
      before,
      commits: [{ id: head, message, modified: ['ocelot.yml'] }],
      sender: 'octocat',
    });
    const body = JSON.stringify(payload);
    const res = await fetch(`${up.url}/hooks/github`, { method: 'POST', headers: githubDeliveryHeaders('push', body, SECRET, `gh-${head}`), body });
    const answer = (await res.json()) as { buildIds?: number[] };
    expect(res.status, JSON.stringify(answer)).toBe(202);
    return answer.buildIds![0]!;
  }

  async function waitFinal(id: number, timeoutMs = 30_000): Promise<StatusJson> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = await ocelotJson<StatusJson>(['status', '--build-id', String(id)], env);
      if (!['QUEUED', 'RUNNING'].includes(s.build.state)) return s;
      if (Date.now() > deadline) throw new Error(`build ${id} still ${s.build.state}:\n${up.output()}`);
      await new Promise((r) => setTimeout(r, 150));
    }
  }

  it('a GitHub push builds: every stage stored in order with its exit code; a non-matching trigger is SKIPPED with its reason', async () => {
    const id = await pushGithub(widgets, 'acme', 'widgets', 'first build');
    const s = await waitFinal(id);
    expect(s.build.state, s.build.reason ?? '').toBe('PASSED');
    expect(s.build.triggeredBy).toBe('octocat');
    expect(s.build.event).toBe('push');
    expect(s.build.queueWaitMs).not.toBeNull();
    expect(s.stages.map((x) => [x.ordinal, x.name, x.state, x.exitCode])).toEqual([
      [0, 'workspace', 'PASSED', null],
      [1, 'validation', 'PASSED', null],
      [2, 'build', 'PASSED', 0],
      [3, 'deploy', 'SKIPPED', null],
      [4, 'test', 'PASSED', 0],
    ]);
    expect(s.stages[3]!.reason).toMatch(/branch/);
    const logs = await ocelot(['logs', String(id)], env);
    expect(logs.stdout).toContain(`hi main ${widgets.commits[0]!.slice(0, 7)}`);
    expect(logs.stdout).toContain('test 2');
  });

  it('a failing stage records its exit code and stops the build', async () => {
    await addCommit(widgets, {
      'ocelot.yml': `buildTool: shell
stages:
  - name: compile
    script: ["echo compiling"]
  - name: unit
    script:
      - echo before
      - sh -c 'exit 3'
      - echo never
  - name: package
    script: ["echo packaging"]
`,
    }, { message: 'break the build' });
    const id = await pushGithub(widgets, 'acme', 'widgets', 'break the build');
    const s = await waitFinal(id);
    expect(s.build.state).toBe('FAILED');
    expect(s.build.reason).toMatch(/unit/);
    const byName = Object.fromEntries(s.stages.map((x) => [x.name, x]));
    expect(byName.compile!.state).toBe('PASSED');
    expect(byName.unit!.state).toBe('FAILED');
    expect(byName.unit!.exitCode).toBe(3);
    expect(byName.package!.state).toBe('SKIPPED');
    expect(byName.package!.reason).toMatch(/unit/);
    const logs = await ocelot(['logs', String(id)], env);
    expect(logs.stdout).toContain('before');
    expect(logs.stdout).not.toContain('never');
  });

  it('an invalid ocelot.yml is FAILED_PRESTART with line and column', async () => {
    await addCommit(widgets, { 'ocelot.yml': 'buildTool: shell\nstages:\n  - name: x\n    script: []\n' }, { message: 'bad file' });
    const id = await pushGithub(widgets, 'acme', 'widgets', 'bad file');
    const s = await waitFinal(id);
    expect(s.build.state).toBe('FAILED_PRESTART');
    expect(s.build.reason).toMatch(/ocelot\.yml:4:\d+/);
  });

  it('[skip ci] is recorded SKIPPED with the reason at intake', async () => {
    await addCommit(widgets, { 'ocelot.yml': PASSING }, { message: 'docs only [skip ci]' });
    const id = await pushGithub(widgets, 'acme', 'widgets', 'docs only [skip ci]');
    const s = await waitFinal(id);
    expect(s.build.state).toBe('SKIPPED');
    expect(s.build.reason).toMatch(/skip ci/);
  });

  it('a Bitbucket push builds too', async () => {
    const gadgets = await createTestRepo(path.join(tmp, 'git', 'team'), { 'ocelot.yml': PASSING }, { name: 'gadgets', branch: 'develop' });
    const head = gadgets.commits[0]!;
    const payload = repointBitbucketPush(fixture('webhooks/bitbucket-cloud/repo-push.one-commit.json'), {
      htmlUrl: `${git.url}/team/gadgets`,
      account: 'team',
      repo: 'gadgets',
      branch: 'develop',
      before: null,
      commits: [{ id: head, message: 'initial commit' }],
    });
    const body = JSON.stringify(payload);
    const res = await fetch(`${up.url}/hooks/bitbucket`, { method: 'POST', headers: bitbucketDeliveryHeaders('repo:push', body, SECRET, `bb-${head}`), body });
    const answer = (await res.json()) as { buildIds?: number[] };
    expect(res.status, JSON.stringify(answer)).toBe(202);
    const s = await waitFinal(answer.buildIds![0]!);
    expect(s.build.state, s.build.reason ?? '').toBe('PASSED');
    expect(s.stages.filter((x) => x.kind === 'user').map((x) => [x.name, x.state, x.exitCode])).toEqual([
      ['build', 'PASSED', 0],
      ['deploy', 'SKIPPED', null],
      ['test', 'PASSED', 0],
    ]);
    const summary = await ocelotJson<{ builds: Array<{ acctRepo: string }> }>(['summary', '--acct-repo', 'team/*'], env);
    expect(summary.builds.map((b) => b.acctRepo)).toEqual(['team/gadgets']);
  });

  it('ocelot kill ends a running sleep stage as CANCELLED within 10 s with no process left', async () => {
    await addCommit(widgets, {
      'ocelot.yml': `buildTool: shell
stages:
  - name: wait
    script: ["echo sleeping", "sleep 317", "echo woke"]
  - name: after
    script: ["echo after"]
`,
    }, { message: 'long build' });
    const id = await pushGithub(widgets, 'acme', 'widgets', 'long build');
    // Wait until the sleep is running.
    const deadline = Date.now() + 20_000;
    for (;;) {
      const s = await ocelotJson<StatusJson>(['status', '--build-id', String(id)], env);
      if (s.stages.find((x) => x.name === 'wait')?.state === 'RUNNING' && sleeping().length > 0) break;
      if (Date.now() > deadline) throw new Error(`the sleep stage never started: ${JSON.stringify(s)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const killed = Date.now();
    const k = await ocelot(['kill', String(id)], env);
    expect(k.code, k.stderr).toBe(0);
    const s = await waitFinal(id, 10_000);
    expect(Date.now() - killed).toBeLessThan(10_000);
    expect(s.build.state).toBe('CANCELLED');
    const wait = s.stages.find((x) => x.name === 'wait')!;
    expect(wait.state).toBe('CANCELLED');
    expect(wait.reason).toMatch(/cancel/i);
    expect(s.stages.find((x) => x.name === 'after')!.state).toBe('CANCELLED');
    expect(sleeping()).toEqual([]);
  });

  it('bad webhooks get 4xx with a reason', async () => {
    const body = JSON.stringify({ hello: 'world' });
    const unsigned = await fetch(`${up.url}/hooks/github`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-github-event': 'push' }, body });
    expect(unsigned.status).toBe(401);
    expect(((await unsigned.json()) as { reason: string }).reason).toBeTruthy();
    const garbage = 'not json';
    const bad = await fetch(`${up.url}/hooks/github`, { method: 'POST', headers: githubDeliveryHeaders('push', garbage, SECRET), body: garbage });
    expect(bad.status).toBe(400);
    // The server answers 413 as soon as Content-Length says too much, without reading the body; a client that
    // is still sending sees the answer (and then a closed socket), as a forge would.
    const huge = 'x'.repeat(6 * 1024 * 1024);
    const tooBig = await postRaw(`${up.url}/hooks/github`, githubDeliveryHeaders('push', huge, SECRET), huge);
    expect(tooBig.status).toBe(413);
    expect(JSON.parse(tooBig.body)).toEqual({ error: 'payload_too_large', reason: expect.stringMatching(/larger .*at most 5 MiB/) });
  });

  it('webhook signatures: SHA-1 only is refused saying to use SHA-256; upper-case hex verifies', async () => {
    const body = '{}';
    const sha1Only = await fetch(`${up.url}/hooks/github`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-github-event': 'delete', 'x-hub-signature': 'sha1=0123456789abcdef0123456789abcdef01234567' },
      body,
    });
    expect(sha1Only.status).toBe(401);
    expect(((await sha1Only.json()) as { reason: string }).reason).toMatch(/SHA-1 signatures are not accepted: set the webhook to SHA-256/);
    const headers = githubDeliveryHeaders('delete', body, SECRET);
    const upper = { ...headers, 'x-hub-signature-256': `sha256=${headers['x-hub-signature-256']!.slice('sha256='.length).toUpperCase()}` };
    const ok = await fetch(`${up.url}/hooks/github`, { method: 'POST', headers: upper, body });
    expect(ok.status).toBe(200);
  });

  it('a Bitbucket push that only deletes a branch is ignored with 200, even without an actor name', async () => {
    const body = JSON.stringify({
      actor: { type: 'user', uuid: '{0d9f0c4e}' }, // no nickname, username or display_name
      repository: { full_name: 'acme/gone', links: { html: { href: 'https://bitbucket.org/acme/gone' } } },
      push: { changes: [{ new: null, old: { type: 'branch', name: 'old-feature', target: { hash: 'a'.repeat(40) } } }] },
    });
    const res = await fetch(`${up.url}/hooks/bitbucket`, { method: 'POST', headers: bitbucketDeliveryHeaders('repo:push', body, SECRET, 'del-1'), body });
    expect(res.status).toBe(200);
    expect(JSON.stringify(await res.json())).toMatch(/branch old-feature was deleted/);
  });
});

/** Sends only the request head (announcing the body's length) and reads the answer: enough to see a 413. */
function postRaw(url: string, headers: Record<string, string>, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const socket = net.connect(Number(u.port), u.hostname, () => {
      const head = Object.entries({ ...headers, host: u.host, 'content-length': String(Buffer.byteLength(body)) })
        .map(([k, v]) => `${k}: ${v}`)
        .join('\r\n');
      socket.write(`POST ${u.pathname} HTTP/1.1\r\n${head}\r\n\r\n`);
    });
    let text = '';
    socket.on('data', (d) => {
      text += d;
      const m = /^HTTP\/1\.1 (\d+)[^]*?\r\n\r\n([^]*)$/.exec(text);
      if (m && m[2]!.includes('}')) {
        socket.destroy();
        resolve({ status: Number(m[1]), body: m[2]! });
      }
    });
    socket.on('error', reject);
    setTimeout(() => reject(new Error(`no answer: ${text}`)), 5_000).unref();
  });
}

function sleeping(): string[] {
  try {
    return execFileSync('pgrep', ['-f', 'sleep 317'], { encoding: 'utf8' }).trim().split('\n').filter(Boolean);
  } catch {
    return [];
  }
}
