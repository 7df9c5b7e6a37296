/**
 * Crashes, shutdowns and builds that cannot start, with real `ocelot up` processes on one data dir: kill -9 in the
 * middle of a stage and start again (the build is recovered as its next attempt), SIGTERM with a short drain
 * (the build is handed back, never left RUNNING), and a clone that fails (the workspace stage carries git's
 * error). The CLI's --json output and the SQLite database in the data dir are the windows into the result.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGitHttpServer, type GitHttpServer } from '../src/devtools/git-http-server.js';
import { addCommit, createTestRepo, type TestRepo } from '../src/devtools/test-repo.js';
import { createStore } from '../src/store/index.js';
import { ocelot, ocelotJson, startUpProcess, type UpProcess } from './support/ocelot-process.js';
import { pushGithub, waitFinal, waitFor } from './support/builds.js';

const SECRET = 'recovery-webhook-secret';
const TOKEN = 'recovery-admin-token';

function pipeline(script: string[]): string {
  return `buildTool: shell
stages:
  - name: prepare
    script: ["echo preparing"]
  - name: long
    script: ${JSON.stringify(script)}
  - name: after
    script: ["echo after"]
`;
}

function processes(pattern: string): string[] {
  try {
    return execFileSync('pgrep', ['-f', pattern], { encoding: 'utf8' }).trim().split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

describe('recovery with real ocelot up processes on one data dir', () => {
  let tmp: string;
  let dataDir: string;
  let git: GitHttpServer;
  let repo: TestRepo;
  let up: UpProcess | undefined;
  let env: NodeJS.ProcessEnv;

  async function start(extra: string[] = []): Promise<UpProcess> {
    up = await startUpProcess(['--data-dir', dataDir, '--no-docker', '--slots', '1', ...extra], { OCELOT_WEBHOOK_SECRET: SECRET, OCELOT_ADMIN_TOKEN: TOKEN });
    env = { OCELOT_SERVER: up.url, OCELOT_TOKEN: TOKEN, NO_COLOR: '1' };
    return up;
  }

  async function push(files: Record<string, string>, message: string, cloneUrl?: string): Promise<number> {
    await addCommit(repo, files, { message });
    return pushGithub({ server: up!.url, secret: SECRET, gitUrl: git.url, repo, account: 'acme', name: 'phoenix', message, cloneUrl });
  }

  /** The build as the database in the data dir has it (the server is down). */
  async function fromDatabase(id: number) {
    const store = await createStore({ url: `sqlite:${path.join(dataDir, 'ocelot.db')}`, logsDir: path.join(dataDir, 'logs') });
    try {
      return { build: (await store.getBuild(id))!, attempts: await store.getAttempts(id), running: await store.listBuilds({ limit: 1000 }) };
    } finally {
      await store.close();
    }
  }

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ocelot-recovery-'));
    dataDir = path.join(tmp, 'data');
    repo = await createTestRepo(path.join(tmp, 'git', 'acme'), { 'ocelot.yml': pipeline(['true']) }, { name: 'phoenix' });
    git = await startGitHttpServer({ root: path.join(tmp, 'git') });
  });

  afterAll(async () => {
    await up?.stop('SIGKILL');
    await git?.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('kill -9 during a stage: on restart attempt 1 is LOST naming the werker, attempt 2 runs and PASSES', async () => {
    await start();
    const id = await push({ 'ocelot.yml': pipeline(['echo napping', 'sleep 3.31', 'echo woke']) }, 'crash me');
    await waitFor(id, env, (s) => s.stages.find((x) => x.name === 'long')?.state === 'RUNNING', 'the long stage running');
    // Log lines reach the store within the werker's report linger (250 ms): crash once 'napping' is stored.
    // (Read over HTTP, not the CLI: the crash must come well before the sleep ends, or nothing is left to kill.)
    const stored = async () => (await (await fetch(`${up!.url}/api/v1/builds/${id}/logs`, { headers: { authorization: `Bearer ${TOKEN}` } })).text()).includes('napping');
    for (const t0 = Date.now(); !(await stored()); ) {
      if (Date.now() - t0 > 5_000) throw new Error("'napping' never reached the store");
      await new Promise((r) => setTimeout(r, 25));
    }
    up!.child.kill('SIGKILL');
    await up!.stop(); // resolves once the process is gone
    const crashed = await fromDatabase(id);
    expect(crashed.build.state).toBe('RUNNING'); // the crash left it with a lease nobody renews
    // The stage died with the process that started it (its watchdog killed the group), not at the next start:
    // never two copies at once, even if this werker were never started again.
    for (const t0 = Date.now(); processes('sleep 3.31').length > 0; ) {
      if (Date.now() - t0 > 2_000) throw new Error('the stage outlived its werker');
      await new Promise((r) => setTimeout(r, 25));
    }

    await start();
    expect(up!.output()).not.toMatch(/left running by this werker's previous run/);
    expect(up!.output()).toMatch(new RegExp(`recovered build ${id} \\(attempt 1 was interrupted\\): requeued`));
    const s = await waitFinal(id, env);
    expect(s.build.state, s.build.reason ?? '').toBe('PASSED');
    expect(s.build.attempt).toBe(2);
    expect(s.attempts.map((a) => [a.attempt, a.state])).toEqual([
      [1, 'LOST'],
      [2, 'PASSED'],
    ]);
    expect(s.attempts[0]!.reason).toMatch(/^werker embedded stopped renewing its lease at \d{4}-/);
    expect(s.stages.map((x) => [x.name, x.state])).toEqual([
      ['workspace', 'PASSED'],
      ['validation', 'PASSED'],
      ['prepare', 'PASSED'],
      ['long', 'PASSED'],
      ['after', 'PASSED'],
    ]);
    // The log is attempt 2's, complete.
    const logs = await ocelot(['logs', String(id)], env);
    expect(logs.stdout).toContain('napping');
    expect(logs.stdout).toContain('woke');
    // Attempt 1's log on its own: what it printed before the crash, and nothing of attempt 2.
    const first = await ocelot(['logs', String(id), '--attempt', '1'], env);
    expect(first.stdout).toContain('napping');
    expect(first.stdout).not.toContain('woke');
    expect(first.stdout).not.toContain('--- attempt 2 ---');
  });

  it('SIGTERM with --drain 1 during a long stage: exits within seconds, the build is handed back (QUEUED), and runs to PASSED after a restart', async () => {
    await up!.stop();
    await start(['--drain', '1']);
    const id = await push({ 'ocelot.yml': pipeline(['echo long one', 'sleep 3.17', 'echo done']) }, 'drain me');
    await waitFor(id, env, (s) => s.stages.find((x) => x.name === 'long')?.state === 'RUNNING', 'the long stage running');
    expect(processes('sleep 3.17').length).toBeGreaterThan(0);
    const signalled = Date.now();
    const code = await up!.stop('SIGTERM');
    const tookMs = Date.now() - signalled;
    expect(code).toBe(0);
    expect(tookMs).toBeLessThan(6_000);
    expect(up!.output()).toMatch(/SIGTERM: stopping/);
    expect(processes('sleep 3.17')).toEqual([]); // the stage's processes were stopped, not orphaned

    const after = await fromDatabase(id);
    expect(after.build.state).toBe('QUEUED');
    expect(after.build.werkerId).toBeNull();
    expect(after.attempts.map((a) => a.state)).toEqual(['HANDED_BACK']);
    expect(after.attempts[0]!.reason).toMatch(/shut down; the build was handed back/);
    expect(after.running.filter((b) => b.state === 'RUNNING')).toEqual([]);

    await start();
    const s = await waitFinal(id, env);
    expect(s.build.state, s.build.reason ?? '').toBe('PASSED');
    expect(s.attempts.map((a) => a.state)).toEqual(['HANDED_BACK', 'PASSED']);
    expect(s.stages.find((x) => x.name === 'long')).toMatchObject({ state: 'PASSED', exitCode: 0 });
  });

  it('a workspace that cannot be cloned: FAILED, with the workspace stage FAILED carrying git\'s error', async () => {
    const id = await push({ 'ocelot.yml': pipeline(['echo never']) }, 'wrong url', `${git.url}/acme/no-such-repo.git`);
    const s = await waitFinal(id, env);
    expect(s.build.state).toBe('FAILED');
    expect(s.build.reason).toMatch(/workspace/);
    const workspace = s.stages.find((x) => x.name === 'workspace')!;
    expect(workspace.state).toBe('FAILED');
    expect(workspace.reason).toMatch(/^git fetch failed: fatal: repository '.*\/acme\/no-such-repo\.git\/?' not found/);
    expect(s.build.reason).toContain(workspace.reason);
    // Nothing of the pipeline ran.
    expect(s.stages.filter((x) => x.kind === 'user' && x.state !== 'SKIPPED')).toEqual([]);
  });

  it('nothing is left QUEUED or RUNNING after all of this, in the API or in the database after a stop', async () => {
    const summary = await ocelotJson<{ builds: Array<{ id: number; state: string }> }>(['summary', '--limit', '100'], env);
    expect(summary.builds.length).toBeGreaterThanOrEqual(3);
    expect(summary.builds.filter((b) => ['QUEUED', 'RUNNING'].includes(b.state))).toEqual([]);
    expect(await up!.stop('SIGTERM')).toBe(0);
    const db = await fromDatabase(summary.builds[0]!.id);
    expect(db.running.filter((b) => ['QUEUED', 'RUNNING'].includes(b.state))).toEqual([]);
  });
});
