/**
 * Two `ocelot server` replicas on one PostgreSQL database: a webhook to replica A, `ocelot logs --follow` on
 * replica B. Everything B streams reaches it through the database (the log rows and NOTIFY), since the werker
 * talks only to A: every line must arrive, in order, once.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN } from './support/ocelot-process.js';
import { numberedLines, oneTo, startCluster, isFinal, type Cluster } from './support/cluster.js';

const LINES = 80;
const PIPELINE = `buildTool: shell
stages:
  - name: count
    script: ["for i in $(seq 1 ${LINES}); do echo line $i; sleep 0.04; done"]
`;

describe('distributed: two server replicas, one database', () => {
  let c: Cluster;
  beforeAll(async () => {
    c = await startCluster({ leaseMs: 5_000, pipeline: PIPELINE });
    await c.startServer();
    await c.startServer();
  });
  afterAll(async () => c?.close());

  it('a webhook to replica A, ocelot logs --follow on replica B: every line arrives, in order, once', async () => {
    const [a, b] = c.servers.map((s) => s.matched) as [string, string];
    await c.startWerker('wa', a);
    const id = await c.push({ url: a });
    // Follow from B while the build is queued or starting: the whole log must come live, not from a re-read.
    const follower = spawn(process.execPath, [BIN, 'logs', String(id), '--follow'], { env: { ...process.env, ...c.env(b) }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    follower.stdout.on('data', (d) => (out += d));
    follower.stderr.on('data', (d) => (err += d));
    // Lines must show up while the build still runs (live, driven by B's LISTEN), not only at the end.
    const t0 = Date.now();
    while (numberedLines(out).length === 0 && follower.exitCode === null && Date.now() - t0 < 60_000) await new Promise((r) => setTimeout(r, 50));
    const status = await c.waitFor(id, () => true);
    expect(numberedLines(out).length, `no line after ${Date.now() - t0} ms: ${out}\n${err}\n${c.dump()}`).toBeGreaterThan(0);
    expect(isFinal(status), JSON.stringify(status.build)).toBe(false);

    const code = await new Promise<number | null>((resolve) => follower.on('exit', resolve));
    expect(code, err).toBe(0);
    const done = await c.waitFor(id, isFinal);
    expect(done.build.state, done.build.reason ?? '').toBe('PASSED');
    expect(done.build.attempt).toBe(1);
    expect(numberedLines(out)).toEqual(oneTo(LINES));
  });
});
