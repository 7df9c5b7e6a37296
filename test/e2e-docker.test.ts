/**
 * End to end with Docker: a real `ocelot up` process using the engine, real signed GitHub push webhooks against
 * repositories served over git smart-HTTP, and the CLI's --json output (plus the engine's own container list) as
 * the only window into the result. Needs an engine and the locally built test image (scripts/ensure-docker.sh);
 * without one these tests FAIL with that advice, unless OCELOT_SKIP_DOCKER_TESTS=1.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGitHttpServer, type GitHttpServer } from '../src/devtools/git-http-server.js';
import { addCommit, createTestRepo, type TestRepo } from '../src/devtools/test-repo.js';
import { connectDocker } from '../src/runtimes/docker/index.js';
import { ocelot, ocelotJson, startUpProcess, type UpProcess } from './support/ocelot-process.js';
import {
  containersOf,
  isAlive,
  pushGithub,
  removeContainer,
  requireEngine,
  SKIP_DOCKER,
  status,
  TEST_IMAGE,
  waitFinal,
  waitUntil,
} from './support/docker-e2e.js';

const SECRET = 'e2e-docker-webhook-secret';
const TOKEN = 'e2e-docker-admin-token';

const PASSING = `image: ${TEST_IMAGE}
buildTool: shell
env: ["FILE_VAR=from-file", "SHARED=file-level"]
stages:
  - name: env
    env: ["STAGE_VAR=from-stage", "SHARED=stage-level"]
    script:
      - echo "hash=$GIT_HASH ws=$WORKSPACE file=$FILE_VAR stage=$STAGE_VAR shared=$SHARED"
      - test "$(pwd)" = /workspace
      - echo "host=$(hostname)"
      - cat data.txt
  - name: produce
    script:
      - echo "shared-between-stages" > made-by-produce.txt
      - echo "container-fs-kept" > /tmp/private
  - name: consume
    script:
      - cat made-by-produce.txt /tmp/private
`;

describe.skipIf(SKIP_DOCKER)('ocelot up with Docker, end to end', () => {
  let tmp: string;
  let git: GitHttpServer;
  let up: UpProcess;
  let boxes: TestRepo;
  let env: NodeJS.ProcessEnv;
  let werkerId: string;

  beforeAll(async () => {
    await requireEngine();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ocelot-e2e-docker-'));
    boxes = await createTestRepo(path.join(tmp, 'git', 'acme'), { 'ocelot.yml': PASSING, 'data.txt': 'workspace-content-42\n' }, { name: 'boxes' });
    git = await startGitHttpServer({ root: path.join(tmp, 'git') });
    // Pull policy never: no registry is reachable here, and it makes the missing-image reason deterministic.
    up = await startUpProcess(
      ['--data-dir', path.join(tmp, 'data'), '--slots', '2', '--pull-policy', 'never', '--docker-memory', '256m', '--docker-cpus', '1'],
      { OCELOT_WEBHOOK_SECRET: SECRET, OCELOT_ADMIN_TOKEN: TOKEN },
    );
    env = { OCELOT_SERVER: up.url, OCELOT_TOKEN: TOKEN, NO_COLOR: '1' };
    const { werkers } = await ocelotJson<{ werkers: Array<{ id: string; runtimes: string[] }> }>(['werkers'], env);
    expect(werkers[0]!.runtimes).toContain('docker');
    werkerId = werkers[0]!.id;
  });

  afterAll(async () => {
    await up?.stop();
    await git?.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  const push = (message: string) => pushGithub({ upUrl: up.url, secret: SECRET, git, repo: boxes, account: 'acme', name: 'boxes', message });
  const final = (id: number, timeoutMs = 60_000) => waitFinal(id, env, timeoutMs, () => up.output());
  const logs = async (id: number, attempt?: number) =>
    (await ocelot(['logs', String(id), ...(attempt ? ['--attempt', String(attempt)] : [])], env)).stdout;
  const noContainerLeft = (id: number) => waitUntil(`no container of build ${id}`, async () => (await containersOf(id, werkerId)).length === 0, 10_000);

  it('runs the pipeline in the image: setup stage, env, workspace content, files shared between stages; nothing left behind', async () => {
    const id = await push('docker build');
    const s = await final(id);
    expect(s.build.state, s.build.reason ?? '').toBe('PASSED');
    expect(s.stages.map((x) => [x.ordinal, x.name, x.kind, x.state, x.exitCode])).toEqual([
      [0, 'workspace', 'system', 'PASSED', null],
      [1, 'validation', 'system', 'PASSED', null],
      [2, 'setup', 'system', 'PASSED', null],
      [3, 'env', 'user', 'PASSED', 0],
      [4, 'produce', 'user', 'PASSED', 0],
      [5, 'consume', 'user', 'PASSED', 0],
    ]);
    const log = await logs(id);
    const commit = boxes.commits[boxes.commits.length - 1]!;
    expect(log).toContain(`hash=${commit} ws=/workspace file=from-file stage=from-stage shared=stage-level`);
    expect(log).toContain('workspace-content-42');
    expect(log).toContain('shared-between-stages\ncontainer-fs-kept');
    // The stages ran in the container setup started: its hostname is the container id's prefix.
    const started = /started container ([0-9a-f]{12}) from ocelot-test\/busybox:latest/.exec(log);
    expect(started, log).not.toBeNull();
    expect(log).toContain(`host=${started![1]}`);
    expect(log).toMatch(/limits: memory 256 MiB, cpus 1/);
    await noContainerLeft(id);
  });

  it('a failing stage records its exit code (3) and stops the build', async () => {
    await addCommit(boxes, {
      'ocelot.yml': `image: ${TEST_IMAGE}
buildTool: shell
stages:
  - name: compile
    script: ["echo compiling"]
  - name: unit
    script:
      - echo before
      - exit 3
      - echo never
  - name: package
    script: ["echo packaging"]
`,
    }, { message: 'break it' });
    const id = await push('break it');
    const s = await final(id);
    expect(s.build.state).toBe('FAILED');
    expect(s.build.reason).toBe("stage 'unit' failed: exit code 3");
    const byName = Object.fromEntries(s.stages.map((x) => [x.name, x]));
    expect([byName.compile!.state, byName.unit!.state, byName.unit!.exitCode, byName.package!.state]).toEqual(['PASSED', 'FAILED', 3, 'SKIPPED']);
    const log = await logs(id);
    expect(log).toContain('before');
    expect(log).not.toContain('never');
    expect(log).not.toContain('packaging');
    await noContainerLeft(id);
  });

  it('a missing image fails in setup with the reason; no user stage runs', async () => {
    await addCommit(boxes, {
      'ocelot.yml': `image: ocelot-test/does-not-exist:1\nbuildTool: shell\nstages:\n  - name: never\n    script: ["echo never"]\n`,
    }, { message: 'missing image' });
    const id = await push('missing image');
    const s = await final(id);
    const reason = 'image ocelot-test/does-not-exist:1 not found locally and pull policy is "never"';
    expect(s.build.state).toBe('FAILED');
    expect(s.build.reason).toBe(reason);
    const setup = s.stages.find((x) => x.name === 'setup')!;
    expect([setup.state, setup.reason]).toEqual(['FAILED', reason]);
    expect(s.stages.find((x) => x.name === 'never')).toMatchObject({ state: 'SKIPPED', reason: 'not run: setup failed' });
    expect(await logs(id)).toContain(reason);
  });

  it('a pipeline asking for the Docker socket fails in setup on a werker that does not allow it', async () => {
    await addCommit(boxes, {
      'ocelot.yml': `image: ${TEST_IMAGE}\nbuildTool: shell\ndockerSocket: true\nstages:\n  - name: build-image\n    script: ["test -S /var/run/docker.sock"]\n`,
    }, { message: 'wants the socket' });
    const id = await push('wants the socket');
    const s = await final(id);
    expect(s.build.state).toBe('FAILED');
    expect(s.build.reason).toMatch(/asks for the Docker socket \(dockerSocket: true\), which this werker does not allow.*--allow-docker-socket/);
    expect(s.stages.find((x) => x.name === 'setup')!.state).toBe('FAILED');
    expect(s.stages.find((x) => x.name === 'build-image')!.state).toBe('SKIPPED');
    await noContainerLeft(id);
  });

  it('ocelot kill ends a running sleep stage CANCELLED within 10 s and leaves no container', async () => {
    await addCommit(boxes, {
      'ocelot.yml': `image: ${TEST_IMAGE}\nbuildTool: shell\nstages:\n  - name: wait\n    script: ["echo sleeping", "sleep 319", "echo woke"]\n  - name: after\n    script: ["echo after"]\n`,
    }, { message: 'long build' });
    const id = await push('long build');
    await waitUntil('the sleep stage to run', async () => {
      const s = await status(id, env);
      return s.stages.find((x) => x.name === 'wait')?.state === 'RUNNING' && (await logs(id)).includes('sleeping');
    }, 30_000);
    expect((await containersOf(id, werkerId)).map((c) => c.state)).toEqual(['running']);

    const killed = Date.now();
    const k = await ocelot(['kill', String(id)], env);
    expect(k.code, k.stderr).toBe(0);
    const s = await final(id, 10_000);
    expect(s.build.state).toBe('CANCELLED');
    expect(s.stages.find((x) => x.name === 'wait')).toMatchObject({ state: 'CANCELLED' });
    expect(s.stages.find((x) => x.name === 'after')!.state).toBe('CANCELLED');
    await noContainerLeft(id);
    expect(Date.now() - killed).toBeLessThan(10_000);
    expect(await logs(id)).not.toContain('woke');
  });

  it('ocelot trigger --keep-container leaves the container (limits within the werker ceiling) and says how to enter it', async () => {
    await addCommit(boxes, {
      'ocelot.yml': `image: ${TEST_IMAGE}\nbuildTool: shell\nresources: {memory: 2g, cpus: 0.5, pids: 100}\nstages:\n  - name: mark\n    script: ["echo kept > /tmp/mark"]\n`,
    }, { message: 'keep me' });
    const { build } = await ocelotJson<{ build: { id: number } }>(['trigger', 'acme/boxes', '--branch', 'main', '--keep-container'], env);
    const s = await final(build.id);
    expect(s.build.state, s.build.reason ?? '').toBe('PASSED');
    const kept = await containersOf(build.id, werkerId);
    expect(kept.map((c) => [c.state, c.labels['ocelot.keep']])).toEqual([['running', 'true']]);
    const id12 = kept[0]!.id.slice(0, 12);
    try {
      const log = await logs(build.id);
      expect(log).toContain(`docker exec -it ${id12} sh`);
      expect(log).toContain(`docker rm -f ${id12}`);
      expect(log).toContain("limits: memory 256 MiB (lowered to the werker's ceiling), cpus 0.5, pids 100");
      const { docker } = await connectDocker();
      const container = docker.getContainer(kept[0]!.id);
      const info = await container.inspect();
      expect([info.HostConfig.Memory, info.HostConfig.NanoCpus, info.HostConfig.PidsLimit]).toEqual([256 * 1024 * 1024, 500_000_000, 100]);
      // The sweep after later builds leaves it alone.
      await addCommit(boxes, { 'ocelot.yml': PASSING }, { message: 'after keep' });
      expect((await final(await push('after keep'))).build.state).toBe('PASSED');
      expect(await containersOf(build.id, werkerId)).toHaveLength(1);
    } finally {
      await removeContainer(kept[0]!.id);
    }
  });

  it('a 1,000,000-line log from a container arrives complete and in order', async () => {
    await addCommit(boxes, {
      'ocelot.yml': `image: ${TEST_IMAGE}\nbuildTool: shell\nstages:\n  - name: count\n    script: ["seq 1 1000000"]\n`,
    }, { message: 'big log' });
    const id = await push('big log');
    const s = await final(id, 120_000);
    expect(s.build.state, s.build.reason ?? '').toBe('PASSED');
    const log = await logs(id);
    const numbers = log.split('\n').filter((l) => /^\d+$/.test(l));
    expect(numbers.length).toBe(1_000_000);
    let inOrder = true;
    for (let i = 0; i < numbers.length; i++) {
      if (numbers[i] !== String(i + 1)) {
        inOrder = false;
        break;
      }
    }
    expect(inOrder).toBe(true);
  }, 180_000);
});

describe.skipIf(SKIP_DOCKER)('ocelot up with Docker: kill -9 and restart', () => {
  let tmp: string;
  let git: GitHttpServer;
  let env: NodeJS.ProcessEnv;
  const ups: UpProcess[] = [];

  beforeAll(async () => {
    await requireEngine();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ocelot-e2e-docker-crash-'));
    git = await startGitHttpServer({ root: path.join(tmp, 'git') });
  });

  afterAll(async () => {
    // stop() waits for an 'exit' that a process killed earlier has already emitted: only stop live ones.
    for (const u of ups) if (isAlive(u.child)) await u.stop('SIGKILL');
    await git?.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('the orphaned container is removed on start and the interrupted build runs again as attempt 2', async () => {
    // Attempt 1 sleeps long; the retry (attempt 2) goes straight through, so the test sees it finish.
    const repo = await createTestRepo(path.join(tmp, 'git', 'acme'), {
      'ocelot.yml': `image: ${TEST_IMAGE}
buildTool: shell
dockerSocket: true
stages:
  - name: wait
    script:
      - echo "attempt $OCELOT_BUILD_ATTEMPT"
      - 'if [ "$OCELOT_BUILD_ATTEMPT" = 1 ]; then echo sleeping; sleep 321; fi'
  - name: socket
    script: ["test -S /var/run/docker.sock", "echo socket mounted"]
`,
    }, { name: 'crashy' });
    const dataDir = path.join(tmp, 'data');
    const args = ['--data-dir', dataDir, '--pull-policy', 'never', '--allow-docker-socket'];
    const upEnv = { OCELOT_WEBHOOK_SECRET: SECRET, OCELOT_ADMIN_TOKEN: TOKEN };
    const first = await startUpProcess(args, upEnv);
    ups.push(first);
    env = { OCELOT_SERVER: first.url, OCELOT_TOKEN: TOKEN, NO_COLOR: '1' };
    const id = await pushGithub({ upUrl: first.url, secret: SECRET, git, repo, account: 'acme', name: 'crashy', message: 'crash me' });
    const running = await waitUntil('attempt 1 sleeping', async () => {
      const s = await status(id, env);
      const log = (await ocelot(['logs', String(id)], env)).stdout;
      return s.stages.find((x) => x.name === 'wait')?.state === 'RUNNING' && log.includes('sleeping') && s;
    }, 30_000);
    const werkerId = running.build.werkerId!;
    expect(await containersOf(id, werkerId, 1)).toHaveLength(1);

    await first.stop('SIGKILL');
    // Nothing stopped the container: it is an orphan now.
    expect((await containersOf(id, werkerId, 1)).map((c) => c.state)).toEqual(['running']);

    const second = await startUpProcess(args, upEnv);
    ups.push(second);
    env = { OCELOT_SERVER: second.url, OCELOT_TOKEN: TOKEN, NO_COLOR: '1' };
    // Swept before the server said it is up.
    expect(await containersOf(id, werkerId, 1)).toEqual([]);
    expect(second.output()).toContain(`recovered build ${id} (attempt 1 was interrupted): requeued`);
    expect(second.output()).toContain('docker: removed 1 orphaned build container(s)');

    const s = await waitFinal(id, env, 60_000, () => second.output());
    expect(s.build.state, s.build.reason ?? '').toBe('PASSED');
    expect(s.build.attempt).toBe(2);
    expect(s.attempts.map((a) => a.state)).toEqual(['LOST', 'PASSED']);
    expect(s.attempts[0]!.reason).toMatch(/stopped renewing its lease/);
    const log = (await ocelot(['logs', String(id), '--attempt', '2'], env)).stdout;
    expect(log).toContain('attempt 2');
    expect(log).toContain('socket mounted');
    expect(log).toContain('mounting the Docker socket');
    await waitUntil('no container of the build', async () => (await containersOf(id, werkerId)).length === 0, 10_000);
  }, 120_000);
});
