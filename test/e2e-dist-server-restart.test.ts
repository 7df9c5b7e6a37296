/**
 * The server restarts (SIGTERM, then a new process on the same port) while a build prints continuously. The
 * werker rides it out: its HTTP client retries, its spool keeps every unacknowledged byte and resends. The build
 * passes on its first attempt and its stored log has every line exactly once, in order.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ocelot } from './support/ocelot-process.js';
import { numberedLines, oneTo, startCluster, isFinal, type Cluster } from './support/cluster.js';

const LINES = 300;
const PIPELINE = `buildTool: shell
stages:
  - name: print
    script: ["for i in $(seq 1 ${LINES}); do echo line $i; sleep 0.02; done"]
  - name: after
    script: ["echo after the restart"]
`;

describe('distributed: server restart in the middle of a build', () => {
  let c: Cluster;
  beforeAll(async () => {
    // A lease comfortably longer than a restart: the restart must not cost the attempt.
    c = await startCluster({ leaseMs: 8_000, pipeline: PIPELINE });
    await c.startServer();
  });
  afterAll(async () => c?.close());

  it('the build passes and its stored log has no gap and no duplicate', async () => {
    const url = c.servers[0]!.matched;
    const port = Number(new URL(url).port);
    await c.startWerker('wr');
    const id = await c.push();
    await c.waitFor(id, (s) => s.stages.find((x) => x.name === 'print')?.state === 'RUNNING', 30_000);
    await new Promise((r) => setTimeout(r, 1_500));

    const code = await c.servers[0]!.stop('SIGTERM');
    expect(code, c.servers[0]!.output()).toBe(0);
    // Down for a moment while the build keeps printing into the werker's spool.
    await new Promise((r) => setTimeout(r, 1_000));
    const again = await c.startServer(port);
    expect(again.url).toBe(url);

    const done = await c.waitFor(id, isFinal, 60_000);
    expect(done.build.state, `${done.build.reason}\n${c.dump()}`).toBe('PASSED');
    expect(done.build.attempt).toBe(1);
    expect(done.attempts.map((a) => a.state)).toEqual(['PASSED']);
    const logs = await ocelot(['logs', String(id)], c.env(url));
    expect(logs.code, logs.stderr).toBe(0);
    expect(numberedLines(logs.stdout)).toEqual(oneTo(LINES));
    expect(logs.stdout).toContain('after the restart');
    // The werker did notice the server going away (otherwise this test proves nothing).
    expect(c.werkers[0]!.output()).toMatch(/retrying/);
  });
});
