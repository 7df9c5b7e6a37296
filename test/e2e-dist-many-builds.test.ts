/**
 * Four `ocelot werker` processes drain 200 builds queued as fast as webhooks can be sent. Every build must pass,
 * have exactly one attempt, and have run its stage exactly once: each stage appends its build id to one file on
 * this host, so a build run twice (two werkers claiming it, or a re-queue after a slow renew) shows up there.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type Cluster } from './support/cluster.js';

const BUILDS = 200;
const WERKERS = 4;

describe('distributed: 4 werkers × 200 builds', () => {
  let c: Cluster;
  let ranFile: string;
  beforeAll(async () => {
    c = await startCluster({ leaseMs: 10_000, pipeline: 'buildTool: shell\nstages:\n  - name: noop\n    script: ["true"]\n' });
    ranFile = path.join(c.tmp, 'ran.txt');
    await c.setPipeline(`buildTool: shell\nstages:\n  - name: mark\n    script: ["echo $BUILD_ID >> ${ranFile}"]\n`, 'mark each run');
    await c.startServer();
    for (let i = 0; i < WERKERS; i++) await c.startWerker(`m${i}`, undefined, ['--slots', '2']);
  });
  afterAll(async () => c?.close());

  it('every build PASSED, each ran exactly once, none lost', async () => {
    const ids: number[] = [];
    for (let i = 0; i < BUILDS; i += 20) {
      ids.push(...(await Promise.all(Array.from({ length: Math.min(20, BUILDS - i) }, () => c.push()))));
    }
    expect(new Set(ids).size).toBe(BUILDS);

    const deadline = Date.now() + 100_000;
    let open = BUILDS;
    while (open > 0) {
      if (Date.now() > deadline) throw new Error(`${open} builds still open\n${c.dump().slice(-5000)}`);
      await new Promise((r) => setTimeout(r, 500));
      open = Number((await c.db.query(`SELECT count(*) AS n FROM builds WHERE state IN ('QUEUED', 'RUNNING')`)).rows[0].n);
    }

    const states = (await c.db.query(`SELECT id, state, attempt FROM builds ORDER BY id`)).rows as Array<{ id: string; state: string; attempt: number }>;
    expect(states.length).toBe(BUILDS);
    expect(states.filter((b) => b.state !== 'PASSED')).toEqual([]);
    const attempts = (await c.db.query(`SELECT build_id, count(*) AS n, min(state) AS s FROM attempts GROUP BY build_id`)).rows as Array<{ build_id: string; n: string; s: string }>;
    expect(attempts.length).toBe(BUILDS);
    expect(attempts.filter((a) => Number(a.n) !== 1 || a.s !== 'PASSED')).toEqual([]);

    const ran = fs.readFileSync(ranFile, 'utf8').split('\n').filter(Boolean).map(Number).sort((x, y) => x - y);
    expect(ran).toEqual([...ids].sort((x, y) => x - y));
    // Spread over the werkers (the claim is not stuck on one of them).
    const by = (await c.db.query(`SELECT werker_id, count(*) AS n FROM attempts GROUP BY werker_id`)).rows;
    expect(by.length).toBe(WERKERS);
  }, 150_000);
});
