// Dead-werker detection: a werker process holding a build (in a `sleep` stage) is killed with SIGKILL; the
// server's lease sweep must notice and re-queue the build. Measured from the database, per round:
//   expiry → re-queued = attempt 1's finished_at (when the sweep recorded it LOST and re-queued the build)
//                        − the lease expiry the killed werker had last renewed to (builds.lease_expires_at)
//   kill → re-queued   = the same finished_at − the moment of the kill
// Baseline, same run: the lease length itself (a dead werker cannot be noticed before its lease runs out).
// Usage: node bench/distributed-dead-werker.mjs   (after npm run build; PostgreSQL at 127.0.0.1:5432)
//   env: OCELOT_BENCH_LEASE_MS (default 15000, the shipped default), OCELOT_BENCH_ROUNDS (default 3)
import fs from 'node:fs';
import path from 'node:path';
import { tempDir, servedRepo, pushPayload, deliverPush, median, fmt, table, report } from './lib.mjs';
import { startDistributed } from './distributed-lib.mjs';

const LEASE_MS = Math.max(1_000, Number(process.env.OCELOT_BENCH_LEASE_MS ?? 15_000));
const ROUNDS = Math.max(1, Number(process.env.OCELOT_BENCH_ROUNDS ?? 3));
const PIPELINE = `buildTool: shell
branches: [ALL]
stages:
  - name: hold
    script: ["sleep 600"]
`;

const tmp = tempDir('dist-dead');
const { repo, git, cloneUrl } = await servedRepo(path.join(tmp, 'git'), 'dead', { 'ocelot.yml': PIPELINE });
const payload = pushPayload({ cloneUrl, repo: 'dead', commit: repo.commits.at(-1) });
const cluster = await startDistributed(path.join(tmp, 'run'), { leaseMs: LEASE_MS });
let exitCode = 0;

try {
  const afterExpiry = [];
  const afterKill = [];
  for (let r = 0; r < ROUNDS; r++) {
    const victim = await cluster.startWerker(`victim${r}`);
    const id = await deliverPush(cluster, payload, `dead-${process.pid}-${r}`);
    await cluster.waitBuild(id, (v) => v.stages.some((s) => s.name === 'hold' && s.state === 'RUNNING'), 60_000, 50);
    // Let it renew a few times first, as a werker in the middle of a long stage would have.
    await new Promise((res) => setTimeout(res, Math.min(2_000, LEASE_MS / 2)));
    victim.child.kill('SIGKILL');
    const killedAt = Date.now();
    await new Promise((res) => victim.child.once('exit', res));
    // Dead now: nothing renews any more, so this is the expiry the sweep works against.
    const expiresAt = Number((await cluster.db.query('SELECT lease_expires_at AS t FROM builds WHERE id = $1', [id])).rows[0].t);
    let lostAt;
    for (;;) {
      const row = (await cluster.db.query(`SELECT finished_at AS t FROM attempts WHERE build_id = $1 AND attempt = 1 AND state = 'LOST'`, [id])).rows[0];
      if (row) {
        lostAt = Number(row.t);
        break;
      }
      if (Date.now() - killedAt > LEASE_MS + 60_000) throw new Error(`build ${id} not re-queued ${LEASE_MS + 60_000} ms after the kill`);
      await new Promise((res) => setTimeout(res, 50));
    }
    const state = (await cluster.db.query('SELECT state FROM builds WHERE id = $1', [id])).rows[0].state;
    if (state !== 'QUEUED') throw new Error(`build ${id}: expected QUEUED after the loss, found ${state}`);
    afterExpiry.push(lostAt - expiresAt);
    afterKill.push(lostAt - killedAt);
    // Out of the way for the next round: a queued build nobody holds is ended by the server itself.
    await cluster.api('POST', `/api/v1/builds/${id}/cancel`, { reason: 'bench round done' });
  }
  const p50 = median(afterExpiry);
  table(`Dead-werker detection: SIGKILL of a werker in a sleep stage, lease ${LEASE_MS} ms, ${ROUNDS} rounds (ms)`, [
    ['step', 'median', 'max'],
    ['lease expiry → build re-queued', fmt(p50), fmt(Math.max(...afterExpiry))],
    ['kill -9 → build re-queued', fmt(median(afterKill)), fmt(Math.max(...afterKill))],
    ['baseline: the lease length', String(LEASE_MS), String(LEASE_MS)],
  ]);
  const worst = Math.max(...afterExpiry);
  const figures = [
    {
      figure: `Dead-werker detection: kill -9 of a werker holding a build, its lease expiry → build re-queued (median / max of ${ROUNDS}; lease ${LEASE_MS / 1000} s)`,
      goal: '≤ 15 s',
      measured: `${fmt(p50 / 1000, 2)} / ${fmt(worst / 1000, 2)} s (kill → re-queued ${fmt(median(afterKill) / 1000, 1)} s)`,
      baseline: `lease length ${LEASE_MS / 1000} s`,
      ratio: `${fmt(p50 / LEASE_MS, 2)}× the lease`,
      ok: worst <= 15_000,
      command: `OCELOT_BENCH_LEASE_MS=${LEASE_MS} node bench/distributed-dead-werker.mjs`,
    },
  ];
  report('distributed-dead-werker', figures);
  console.log(`\n${figures[0].figure}: ${figures[0].measured} (goal ${figures[0].goal}; ${figures[0].ok ? 'met' : 'NOT met'})`);
} catch (err) {
  console.error(`distributed-dead-werker bench failed: ${err instanceof Error ? err.stack : err}`);
  exitCode = 1;
} finally {
  await cluster.close();
  await git.close();
  fs.rmSync(tmp, { recursive: true, force: true });
}
process.exit(exitCode);
