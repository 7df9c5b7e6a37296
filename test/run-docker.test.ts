/**
 * `ocelot run --runtime docker` on a local checkout: the same docker runtime as a werker, no server. The host
 * runtime's `ocelot run` is covered in cli.test.ts. Needs an engine (scripts/ensure-docker.sh) unless
 * OCELOT_SKIP_DOCKER_TESTS=1.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestRepo } from '../src/devtools/test-repo.js';
import { ocelot } from './support/ocelot-process.js';
import { containersOf, requireEngine, SKIP_DOCKER, TEST_IMAGE } from './support/docker-e2e.js';

interface RunJson {
  passed: boolean;
  stages: Array<{ name: string; state: string; exitCode: number | null; reason?: string }>;
}

async function run(dir: string, extra: string[] = []): Promise<{ code: number | null; json: RunJson; stderr: string }> {
  const r = await ocelot(['run', dir, '--runtime', 'docker', '--json', ...extra], { NO_COLOR: '1' });
  let json: RunJson;
  try {
    json = JSON.parse(r.stdout) as RunJson;
  } catch {
    throw new Error(`ocelot run printed no JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  }
  return { code: r.code, json, stderr: r.stderr };
}

describe.skipIf(SKIP_DOCKER)('ocelot run --runtime docker', () => {
  let tmp: string;

  beforeAll(async () => {
    await requireEngine();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ocelot-run-docker-'));
  });

  afterAll(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('runs the checkout in the image: env, the checkout mounted at /workspace, files shared between stages, socket on request', async () => {
    const repo = await createTestRepo(path.join(tmp, 'ok'), {
      'ocelot.yml': `image: ${TEST_IMAGE}
buildTool: shell
resources: {memory: 128m, pids: 64}
dockerSocket: true
env: ["FILE_VAR=from-file"]
stages:
  - name: look
    env: ["STAGE_VAR=from-stage"]
    script:
      - echo "ws=$WORKSPACE pwd=$(pwd) file=$FILE_VAR stage=$STAGE_VAR hash=$GIT_HASH"
      - cat input.txt
      - test -S /var/run/docker.sock
  - name: write
    script: ["echo from-the-container > out.txt"]
  - name: read
    script: ["cat out.txt"]
  - name: release
    triggers: ['\\branch release/.*']
    script: ["echo releasing"]
`,
      'input.txt': 'checkout-content\n',
    }, { name: 'ok' });
    const r = await run(repo.workDir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.passed).toBe(true);
    expect(r.json.stages.map((s) => [s.name, s.state, s.exitCode])).toEqual([
      ['look', 'PASSED', 0],
      ['write', 'PASSED', 0],
      ['read', 'PASSED', 0],
      ['release', 'SKIPPED', null],
    ]);
    expect(r.stderr).toContain(`ws=/workspace pwd=/workspace file=from-file stage=from-stage hash=${repo.commits[0]}`);
    expect(r.stderr).toContain('checkout-content');
    expect(r.stderr).toContain('limits: memory 128 MiB, pids 64');
    expect(r.stderr).not.toContain('releasing');
    // The stages ran in the checkout itself (bind-mounted), as on the host.
    expect(fs.readFileSync(path.join(repo.workDir, 'out.txt'), 'utf8')).toBe('from-the-container\n');
    expect(await containersOf(0, 'local')).toEqual([]);
  });

  it('a failing stage gives its exit code; a missing image fails setup with the reason', async () => {
    const failing = await createTestRepo(path.join(tmp, 'fail'), {
      'ocelot.yml': `image: ${TEST_IMAGE}\nbuildTool: shell\nstages:\n  - name: breaks\n    script: ["echo before", "exit 3", "echo never"]\n  - name: after\n    script: ["echo after"]\n`,
    }, { name: 'fail' });
    const f = await run(failing.workDir);
    expect(f.code).toBe(1);
    expect(f.json.stages.map((s) => [s.name, s.state, s.exitCode])).toEqual([
      ['breaks', 'FAILED', 3],
      ['after', 'SKIPPED', null],
    ]);
    expect(f.stderr).toContain('before');
    expect(f.stderr).not.toContain('never');

    const missing = await createTestRepo(path.join(tmp, 'missing'), {
      'ocelot.yml': 'image: ocelot-test/does-not-exist:1\nbuildTool: shell\nstages:\n  - name: x\n    script: ["echo x"]\n',
    }, { name: 'missing' });
    const m = await run(missing.workDir);
    expect(m.code).toBe(1);
    expect(m.json.passed).toBe(false);
    expect(m.json.stages[0]).toMatchObject({ name: 'setup', state: 'FAILED' });
    expect(m.json.stages[0]!.reason).toMatch(/^image ocelot-test\/does-not-exist:1 not found locally and pull failed: .+/);
    expect(m.json.stages[1]).toMatchObject({ name: 'x', state: 'SKIPPED', reason: 'not run: setup failed' });
    expect(await containersOf(0, 'local')).toEqual([]);
  });
});
