/**
 * Werker health, end to end: an `ocelot up` whose Docker engine stops and starts answering. Without touching the
 * real engine, the werker is pointed (--docker-socket) at a path that is first missing, then a symlink to the real
 * socket, then missing again. The werker re-checks at every heartbeat (5 s): it stops offering runtime:docker,
 * image builds fail with the reason meanwhile, and it offers docker again when the engine answers.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGitHttpServer, type GitHttpServer } from '../src/devtools/git-http-server.js';
import { addCommit, createTestRepo } from '../src/devtools/test-repo.js';
import { ocelotJson, startUpProcess, type UpProcess } from './support/ocelot-process.js';
import { pushGithub, requireEngine, SKIP_DOCKER, TEST_IMAGE, waitFinal, waitUntil } from './support/docker-e2e.js';

const SECRET = 'e2e-health-secret';
const TOKEN = 'e2e-health-token';
const PIPELINE = `image: ${TEST_IMAGE}\nbuildTool: shell\nstages:\n  - name: hello\n    script: ["echo hello from the container"]\n`;

function realSocket(): string {
  const host = process.env.DOCKER_HOST;
  return host?.startsWith('unix://') ? host.slice('unix://'.length) : '/var/run/docker.sock';
}

describe.skipIf(SKIP_DOCKER)('werker health: the Docker engine goes away and comes back', () => {
  let tmp: string;
  let git: GitHttpServer;
  let up: UpProcess;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    await requireEngine();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ocelot-e2e-health-'));
    git = await startGitHttpServer({ root: path.join(tmp, 'git') });
  });

  afterAll(async () => {
    await up?.stop();
    await git?.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  const runtimes = async () => (await ocelotJson<{ werkers: Array<{ runtimes: string[] }> }>(['werkers'], env)).werkers[0]!.runtimes;

  it('stops offering runtime:docker while the engine does not answer, fails image builds with the reason, and resumes', async () => {
    const socket = path.join(tmp, 'engine.sock'); // does not exist yet
    const repo = await createTestRepo(path.join(tmp, 'git', 'acme'), { 'ocelot.yml': PIPELINE }, { name: 'health' });
    up = await startUpProcess(['--data-dir', path.join(tmp, 'data'), '--pull-policy', 'never', '--docker-socket', socket], {
      OCELOT_WEBHOOK_SECRET: SECRET,
      OCELOT_ADMIN_TOKEN: TOKEN,
    });
    env = { OCELOT_SERVER: up.url, OCELOT_TOKEN: TOKEN, NO_COLOR: '1' };
    const push = (message: string) => pushGithub({ upUrl: up.url, secret: SECRET, git, repo, account: 'acme', name: 'health', message });

    // Down from the start: only the host runtime is offered, and the log says why.
    expect(await runtimes()).toEqual(['host']);
    expect(up.output()).toMatch(/not claiming docker builds: Docker engine not reachable: .*engine\.sock/);
    const refused = await waitFinal(await push('engine down'), env, 30_000, () => up.output());
    expect(refused.build.state).toBe('FAILED_PRESTART');
    expect(refused.build.reason).toMatch(/needs the docker runtime, which werker embedded cannot run: Docker engine not reachable/);

    // The engine "comes back": the next heartbeat sees it.
    fs.symlinkSync(realSocket(), socket);
    await waitUntil('runtime:docker offered again', async () => (await runtimes()).includes('docker'), 15_000, 250);
    expect(up.output()).toContain('werker embedded: docker runtime available');
    await addCommit(repo, { 'ocelot.yml': PIPELINE.replace('hello from', 'hello again from') }, { message: 'engine back' });
    const passed = await waitFinal(await push('engine back'), env, 30_000, () => up.output());
    expect(passed.build.state, passed.build.reason ?? '').toBe('PASSED');
    expect(passed.stages.map((s) => s.name)).toContain('setup');

    // And goes away again.
    fs.unlinkSync(socket);
    await waitUntil('runtime:docker withdrawn', async () => !(await runtimes()).includes('docker'), 15_000, 250);
    expect(await runtimes()).toEqual(['host']);
  }, 90_000);
});
