/**
 * The server owns cancel and leases, with real processes: `ocelot kill` of a stage running on a remote werker
 * (the werker hears of it through renew within a second and kills the stage's process group), and a werker that
 * comes back after losing its lease (SIGSTOP past the lease, SIGCONT after another werker took the build): its
 * late writes are refused, it kills its orphaned stage, and the record shows attempt 1 LOST, attempt 2 PASSED.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ocelot } from './support/ocelot-process.js';
import { startCluster, isFinal, type Cluster } from './support/cluster.js';

const LEASE_MS = 3_000;

/** Live (non-zombie) members of a process group, from /proc: a stage's shell and whatever it started. */
function groupMembers(pgid: number): number[] {
  const found: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      // pid (comm) state ppid pgrp ... — comm may hold spaces, so split after its closing parenthesis.
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(pgrp) === pgid && state !== 'Z') found.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return found;
}

async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('distributed: cancel and lost leases with real werker processes', () => {
  let c: Cluster;
  let marks: string;
  beforeAll(async () => {
    c = await startCluster({ leaseMs: LEASE_MS, pipeline: 'buildTool: shell\nstages:\n  - name: noop\n    script: ["true"]\n' });
    marks = path.join(c.tmp, 'marks');
    fs.mkdirSync(marks);
    await c.startServer();
    await c.startWerker('w1');
  });
  afterAll(async () => c?.close());

  const pgidOf = (file: string) => () => {
    try {
      const n = Number(fs.readFileSync(path.join(marks, file), 'utf8').trim());
      return n > 0 ? n : undefined;
    } catch {
      return undefined;
    }
  };

  it('ocelot kill of a running sleep stage: CANCELLED and its processes gone within 10 s', async () => {
    await c.setPipeline(`buildTool: shell\nstages:\n  - name: nap\n    script: ["echo $$ > ${marks}/kill-$BUILD_ID", "sleep 60"]\n  - name: never\n    script: ["echo never"]\n`, 'long nap');
    const id = await c.push();
    const pgid = await until('the stage to start', pgidOf(`kill-${id}`), 30_000);
    expect(groupMembers(pgid).length).toBeGreaterThan(0);

    const t0 = Date.now();
    const killed = await ocelot(['kill', String(id)], c.env());
    expect(killed.code, killed.stderr).toBe(0);
    const s = await c.waitFor(id, isFinal, 10_000);
    await until('the stage processes to end', () => (groupMembers(pgid).length === 0 ? true : undefined), 10_000 - (Date.now() - t0));
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(s.build.state).toBe('CANCELLED');
    expect(s.stages.find((x) => x.name === 'nap')?.state).toBe('CANCELLED');
    expect(s.stages.find((x) => x.name === 'never')?.state).toBe('CANCELLED');
  });

  it('a werker back after losing its lease: late writes refused, orphaned stage killed, attempt 1 LOST, attempt 2 PASSED', async () => {
    await c.setPipeline(
      `buildTool: shell\nstages:\n  - name: wait\n    script: ["echo $$ > ${marks}/lost-$BUILD_ID-$OCELOT_BUILD_ATTEMPT", "if [ $OCELOT_BUILD_ATTEMPT = 1 ]; then while true; do echo tick; sleep 0.2; done; else sleep 1; fi"]\n`,
      'attempt 1 never ends',
    );
    const w1 = c.werkers[0]!;
    const id = await c.push();
    const pgid1 = await until('attempt 1 to start', pgidOf(`lost-${id}-1`), 30_000);
    // Stage rows reach the server within the werker's report linger (250 ms): stop w1 once the server has it.
    await c.waitFor(id, (v) => v.stages.some((x) => x.name === 'wait' && x.state === 'RUNNING'), 5_000);

    w1.child.kill('SIGSTOP');
    try {
      await c.startWerker('w2');
      // The lease expires, the sweep re-queues the build, w2 takes attempt 2.
      await c.waitFor(id, (s) => s.build.attempt === 2, LEASE_MS * 5);
    } finally {
      w1.child.kill('SIGCONT');
    }
    const s = await c.waitFor(id, isFinal, 30_000);
    expect(s.build.state, s.build.reason ?? '').toBe('PASSED');
    expect(s.attempts.map((a) => a.state)).toEqual(['LOST', 'PASSED']);
    expect(s.attempts[0]!.reason).toMatch(/werker w1 stopped renewing its lease at/);

    // Back from SIGSTOP, w1 renews, is told its lease is gone, and kills the stage it was still running.
    await until('w1 to kill its orphaned stage', () => (groupMembers(pgid1).length === 0 ? true : undefined), 10_000);
    await until('w1 to log the lost lease', () => (/build \d+ attempt 1: lease lost/.test(w1.output()) ? true : undefined), 5_000);
    // Its late writes were refused: nothing of attempt 1 changed after attempt 2 began.
    const a1 = (await c.db.query(`SELECT state, reason FROM attempts WHERE build_id = $1 AND attempt = 1`, [id])).rows[0];
    expect(a1.state).toBe('LOST');
    // The server closed attempt 1's running stage when the lease expired; w1's stop of it did not overwrite that.
    const wait1 = (await c.db.query(`SELECT state, reason FROM stages WHERE build_id = $1 AND attempt = 1 AND name = 'wait'`, [id])).rows[0];
    expect(wait1).toEqual({ state: 'FAILED', reason: 'werker lost' });
    expect(w1.output()).toMatch(/lease lost \(.*lease.*\); stopping its stage/);
    expect(w1.child.exitCode).toBe(null); // and w1 itself lives on, ready for new builds
  });
});
