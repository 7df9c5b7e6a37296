import { writeFileSync, readFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RuntimeSetupError } from '../runtime.js';
import { connectDocker } from './client.js';
import { createDockerRuntime } from './docker-runtime.js';
import { LABEL_BUILD, LABEL_KEEP, LABEL_MANAGED, LABEL_WERKER } from './labels.js';
import { MemoryOutput, newBuildId, requireDocker, SKIP_DOCKER, stage, tempWorkspace, TEST_IMAGE } from './test-support.js';

const WERKER = `test-werker-${process.pid}`;

describe.skipIf(SKIP_DOCKER)('docker runtime (real engine)', () => {
  const ws = tempWorkspace();
  const runtime = createDockerRuntime({ pullPolicy: 'if-not-present', werkerId: WERKER });
  const job = (extra: Record<string, unknown> = {}) => ({
    buildId: newBuildId(),
    attempt: 1,
    werkerId: WERKER,
    workspaceHostPath: ws.path,
    image: TEST_IMAGE,
    ...extra,
  });
  const never = new AbortController().signal;

  beforeAll(requireDocker);
  afterAll(async () => {
    ws.cleanup();
    // Nothing this file created may outlive it, whatever failed.
    const { docker } = await connectDocker().catch(() => ({ docker: null }));
    if (!docker) return; // no engine: beforeAll already failed with the reason
    const left = await docker.listContainers({ all: true, filters: { label: [`${LABEL_WERKER}=${WERKER}`] } });
    await Promise.all(left.map((c) => docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined)));
  });

  it('passes a stage and writes setup progress', async () => {
    const setup = new MemoryOutput();
    const session = await runtime.prepare(job(), setup, never);
    try {
      expect(session.workspacePath).toBe('/workspace');
      const out = new MemoryOutput();
      const r = await session.runStage(stage(['echo hello', 'echo err >&2', 'pwd'], { output: out }));
      expect(r).toEqual({ state: 'PASSED', exitCode: 0 });
      // stdout and stderr are separate pipes in the engine: order is kept within each, not across them.
      const lines = out.text().split('\n');
      expect(lines.filter((l) => l !== 'err')).toEqual(['hello', '/workspace', '']);
      expect(lines).toContain('err');
      expect(setup.text()).toContain('using local image ocelot-test/busybox:latest');
    } finally {
      await session.destroy();
    }
  });

  it('fails with the exit code of the first failing line (errexit)', async () => {
    const session = await runtime.prepare(job(), new MemoryOutput(), never);
    try {
      const out = new MemoryOutput();
      const r = await session.runStage(stage(['echo before', 'exit 3', 'echo never'], { output: out }));
      expect(r.state).toBe('FAILED');
      expect(r.exitCode).toBe(3);
      expect(r.reason).toBe('exit code 3');
      expect(out.text()).toBe('before\n');
      const r2 = await session.runStage(stage(['false', 'echo not reached']));
      expect(r2).toMatchObject({ state: 'FAILED', exitCode: 1 });
    } finally {
      await session.destroy();
    }
  });

  it('passes the stage env and WORKSPACE into the container', async () => {
    const session = await runtime.prepare(job(), new MemoryOutput(), never);
    try {
      const out = new MemoryOutput();
      const r = await session.runStage(
        stage(['echo "$GREETING|$SPACED|$WORKSPACE"'], {
          output: out,
          env: [
            ['GREETING', 'hi there'],
            ['SPACED', 'a b  c'],
          ],
        }),
      );
      expect(r.state).toBe('PASSED');
      expect(out.text()).toBe('hi there|a b  c|/workspace\n');
    } finally {
      await session.destroy();
    }
  });

  it('sees the workspace content and shares files between stages', async () => {
    mkdirSync(join(ws.path, 'src'), { recursive: true });
    writeFileSync(join(ws.path, 'src', 'input.txt'), 'from the host\n');
    const session = await runtime.prepare(job(), new MemoryOutput(), never);
    try {
      const first = new MemoryOutput();
      expect(await session.runStage(stage(['cat src/input.txt', 'echo built > artifact.txt'], { output: first })))
        .toMatchObject({ state: 'PASSED' });
      expect(first.text()).toBe('from the host\n');
      // A file outside the workspace too: the second exec runs in the same container.
      await session.runStage(stage(['echo state > /tmp/shared']));
      const second = new MemoryOutput();
      expect(await session.runStage(stage(['cat artifact.txt /tmp/shared'], { output: second }))).toMatchObject({
        state: 'PASSED',
      });
      expect(second.text()).toBe('built\nstate\n');
      expect(readFileSync(join(ws.path, 'artifact.txt'), 'utf8')).toBe('built\n');
    } finally {
      await session.destroy();
    }
  });

  it('labels the container and removes it on destroy (twice is fine)', async () => {
    const j = job();
    const session = await runtime.prepare(j, new MemoryOutput(), never);
    const { docker } = await connectDocker();
    const info = await docker.getContainer(session.id).inspect();
    expect(info.Config.Labels).toMatchObject({
      [LABEL_MANAGED]: 'true',
      [LABEL_BUILD]: String(j.buildId),
      'ocelot.attempt': '1',
      [LABEL_WERKER]: WERKER,
    });
    expect(info.Config.WorkingDir).toBe('/workspace');
    expect(info.HostConfig.Binds).toEqual([`${ws.path}:/workspace`]);
    await session.destroy();
    await session.destroy();
    await expect(docker.getContainer(session.id).inspect()).rejects.toMatchObject({ statusCode: 404 });
  });

  it('applies resource limits, clamped to the werker ceiling', async () => {
    const limited = createDockerRuntime({
      pullPolicy: 'never',
      werkerId: WERKER,
      limits: { memoryBytes: 256 * 1024 * 1024, nanoCpus: 1_000_000_000, pidsLimit: 200 },
    });
    const session = await limited.prepare(job({ limits: { memoryBytes: 64 * 1024 * 1024, pidsLimit: 10_000 } }), new MemoryOutput(), never);
    try {
      const { docker } = await connectDocker();
      const info = await docker.getContainer(session.id).inspect();
      expect(info.HostConfig.Memory).toBe(64 * 1024 * 1024);
      expect(info.HostConfig.NanoCpus).toBe(1_000_000_000);
      expect(info.HostConfig.PidsLimit).toBe(200);
    } finally {
      await session.destroy();
    }
  });

  it('mounts the docker socket only when allowed', async () => {
    const { docker } = await connectDocker();
    const plain = await runtime.prepare(job(), new MemoryOutput(), never);
    const withSocket = await createDockerRuntime({ pullPolicy: 'never', werkerId: WERKER, allowDockerSocket: true })
      .prepare(job(), new MemoryOutput(), never);
    try {
      const a = await docker.getContainer(plain.id).inspect();
      const b = await docker.getContainer(withSocket.id).inspect();
      expect(a.HostConfig.Binds?.some((x) => x.includes('docker.sock'))).toBe(false);
      expect(b.HostConfig.Binds).toContain('/var/run/docker.sock:/var/run/docker.sock');
    } finally {
      await plain.destroy();
      await withSocket.destroy();
    }
  });

  it('fails setup with the reason when the pipeline asks for the socket and the werker does not allow it', async () => {
    const setup = new MemoryOutput();
    await expect(runtime.prepare(job({ allowDockerSocket: true }), setup, never)).rejects.toThrow(
      /asks for the Docker socket \(dockerSocket: true\), which this werker does not allow.*--allow-docker-socket/,
    );
    const { docker } = await connectDocker();
    const left = await docker.listContainers({ all: true, filters: { label: [`${LABEL_WERKER}=${WERKER}`] } });
    expect(left).toEqual([]);
  });

  it('fails setup with the reason when the image is missing (never, if-not-present)', async () => {
    const never_ = createDockerRuntime({ pullPolicy: 'never', werkerId: WERKER });
    await expect(never_.prepare(job({ image: 'ocelot-test/does-not-exist:1' }), new MemoryOutput(), never)).rejects
      .toThrow(new RuntimeSetupError('image ocelot-test/does-not-exist:1 not found locally and pull policy is "never"'));

    const setup = new MemoryOutput();
    const err = await runtime
      .prepare(job({ image: 'ocelot-test/does-not-exist:1' }), setup, never)
      .then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(RuntimeSetupError);
    expect((err as Error).message).toMatch(/^image ocelot-test\/does-not-exist:1 not found locally and pull failed: [^(].+/);
    expect(setup.text()).toContain('pulling image ocelot-test/does-not-exist:1');
  });

  it('gives stages an empty stdin, so a command waiting for input does not hang the build', async () => {
    const session = await runtime.prepare(job(), new MemoryOutput(), never);
    try {
      const out = new MemoryOutput();
      const r = await session.runStage(stage(['cat', 'read -r line || echo eof'], { output: out, timeoutMs: 10_000 }));
      expect(r).toEqual({ state: 'PASSED', exitCode: 0 });
      expect(out.text()).toBe('eof\n');
    } finally {
      await session.destroy();
    }
  });

  it('fails a stage on timeout and can run the next one', async () => {
    const session = await runtime.prepare(job(), new MemoryOutput(), never);
    try {
      const t0 = Date.now();
      const r = await session.runStage(stage(['echo start', 'sleep 30'], { timeoutMs: 500, killGraceMs: 1000 }));
      expect(r).toMatchObject({ state: 'FAILED', timedOut: true, reason: 'timed out after 500ms' });
      expect(Date.now() - t0).toBeLessThan(5000);
      expect((await session.runStage(stage(['true']))).state).toBe('PASSED');
    } finally {
      await session.destroy();
    }
  });

  it('escalates to SIGKILL when the stage ignores SIGTERM', async () => {
    const session = await runtime.prepare(job(), new MemoryOutput(), never);
    try {
      const t0 = Date.now();
      const r = await session.runStage(
        stage(['trap "" TERM', 'sleep 30 & wait'], { timeoutMs: 300, killGraceMs: 700 }),
      );
      expect(r).toMatchObject({ state: 'FAILED', timedOut: true });
      expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
      expect(Date.now() - t0).toBeLessThan(6000);
    } finally {
      await session.destroy();
    }
  });

  it('cancel (ocelot kill) stops the stage and leaves no container within 10 s', async () => {
    const session = await runtime.prepare(job(), new MemoryOutput(), never);
    const ac = new AbortController();
    const out = new MemoryOutput();
    const running = session.runStage(stage(['echo started', 'sleep 300'], { signal: ac.signal, output: out, killGraceMs: 5000 }));
    while (!out.text().includes('started')) await new Promise((r) => setTimeout(r, 20));
    const t0 = Date.now();
    ac.abort();
    const r = await running;
    await session.destroy();
    expect(r.state).toBe('CANCELLED');
    const { docker } = await connectDocker();
    await expect(docker.getContainer(session.id).inspect()).rejects.toMatchObject({ statusCode: 404 });
    expect(Date.now() - t0).toBeLessThan(10_000);
  });

  it('destroy during a running stage ends the stage as CANCELLED quickly', async () => {
    const session = await runtime.prepare(job(), new MemoryOutput(), never);
    const out = new MemoryOutput();
    const running = session.runStage(stage(['echo started', 'sleep 300'], { output: out }));
    while (!out.text().includes('started')) await new Promise((r) => setTimeout(r, 20));
    const t0 = Date.now();
    await session.destroy();
    const r = await running;
    expect(r.state).toBe('CANCELLED');
    expect(Date.now() - t0).toBeLessThan(10_000);
  });

  it('keeps the container when asked and says how to enter it', async () => {
    const session = await runtime.prepare(job({ keepContainer: true }), new MemoryOutput(), never);
    const out = new MemoryOutput();
    await session.runStage(stage(['true'], { output: out }));
    await session.destroy();
    const { docker } = await connectDocker();
    try {
      const info = await docker.getContainer(session.id).inspect();
      expect(info.State.Running).toBe(true);
      expect(info.Config.Labels[LABEL_KEEP]).toBe('true');
      expect(out.text()).toContain(`docker exec -it ${session.id.slice(0, 12)} sh`);
    } finally {
      await docker.getContainer(session.id).remove({ force: true });
    }
  });

  it('delivers a 1,000,000-line log complete and in order', async () => {
    const session = await runtime.prepare(job(), new MemoryOutput(), never);
    try {
      const out = new MemoryOutput();
      const r = await session.runStage(stage(['seq 1 1000000'], { output: out }));
      expect(r.state).toBe('PASSED');
      const lines = out.text().split('\n');
      expect(lines.pop()).toBe('');
      expect(lines.length).toBe(1_000_000);
      for (let i = 0; i < lines.length; i++) {
        if (lines[i] !== String(i + 1)) throw new Error(`line ${i + 1} is ${JSON.stringify(lines[i])}`);
      }
    } finally {
      await session.destroy();
    }
  });
});
