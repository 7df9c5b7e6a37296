/**
 * `ocelot logs --follow` while the server replica it follows restarts, twice (SIGTERM, then kill -9), each time
 * a new process on the same port after a second of connection refused. The build prints continuously all the
 * while. The follow rides it out: it says on stderr that the stream was lost and is back, resumes after the last
 * event it got, and prints every line exactly once, in order — the same bytes as the stored log.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, ocelot } from './support/ocelot-process.js';
import { numberedLines, oneTo, startCluster, isFinal, type Cluster } from './support/cluster.js';

const LINES = 400;
const PIPELINE = `buildTool: shell
stages:
  - name: print
    script: ["for i in $(seq 1 ${LINES}); do echo line $i; sleep 0.025; done"]
  - name: after
    script: ["echo after the restarts"]
`;

describe('distributed: ocelot logs --follow across server restarts', () => {
  let c: Cluster;
  beforeAll(async () => {
    // A lease comfortably longer than a restart: the build itself must not notice.
    c = await startCluster({ leaseMs: 8_000, pipeline: PIPELINE });
    await c.startServer();
  });
  afterAll(async () => c?.close());

  it('the follow reconnects and resumes: every line once, in order, and a notice instead of a crash', async () => {
    const url = c.servers[0]!.matched;
    const port = Number(new URL(url).port);
    await c.startWerker('wf');
    const id = await c.push();

    const follower = spawn(process.execPath, [BIN, 'logs', String(id), '--follow'], { env: { ...process.env, ...c.env(url) }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    follower.stdout.on('data', (d) => (out += d));
    follower.stderr.on('data', (d) => (err += d));
    const exited = new Promise<number | null>((resolve) => follower.on('exit', resolve));
    const until = async (what: string, ok: () => boolean, ms = 30_000) => {
      const deadline = Date.now() + ms;
      while (!ok()) {
        if (follower.exitCode !== null) throw new Error(`the follow exited (${follower.exitCode}) waiting for ${what}:\n${err}\n${c.dump()}`);
        if (Date.now() > deadline) throw new Error(`waiting for ${what}: ${numberedLines(out).length} lines\n${err}\n${c.dump()}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    const restarts: Array<{ signal: NodeJS.Signals; linesBefore: number }> = [];
    for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
      const seen = numberedLines(out).length;
      await until(`40 more lines before the ${signal}`, () => numberedLines(out).length >= seen + 40);
      const server = c.servers[c.servers.length - 1]!;
      await server.stop(signal);
      restarts.push({ signal, linesBefore: numberedLines(out).length });
      await until(`the notice after the ${signal}`, () => /lost the log stream/.test(err), 10_000);
      // Down for a second (connection refused) while the build keeps printing into the werker's spool.
      await new Promise((r) => setTimeout(r, 1_000));
      const again = await c.startServer(port);
      expect(again.url).toBe(url);
      await until(`the stream back after the ${signal}`, () => (err.match(/is back/g) ?? []).length === restarts.length, 15_000);
    }

    const code = await exited;
    expect(code, `${err}\n${c.dump()}`).toBe(0);
    // The follow really was live across both restarts (it did not just re-read a finished log at the end).
    for (const r of restarts) expect(r.linesBefore, r.signal).toBeLessThan(LINES);
    expect(numberedLines(out)).toEqual(oneTo(LINES));
    expect(out).toContain('after the restarts');

    // stderr: one-line notices only, no stack trace.
    const notices = err.trim().split('\n');
    expect(notices.filter((l) => /^ocelot: lost the log stream of build \d+ \(.+\); reconnecting to http:\/\/127\.0\.0\.1:\d+/.test(l))).toHaveLength(2);
    expect(notices.filter((l) => /^ocelot: the log stream of build \d+ is back$/.test(l))).toHaveLength(2);
    expect(notices).toHaveLength(4);
    expect(err).not.toMatch(/TypeError|\n\s+at /);

    const done = await c.waitFor(id, isFinal, 30_000);
    expect(done.build.state, `${done.build.reason}\n${c.dump()}`).toBe('PASSED');
    expect(done.build.attempt).toBe(1);
    // Exactly the stored log, byte for byte.
    const stored = await ocelot(['logs', String(id)], c.env(url));
    expect(stored.code, stored.stderr).toBe(0);
    expect(out).toBe(stored.stdout);
  });
});
