// Pickup: a signed GitHub push webhook → the werker claims the build → the first stage's command is running.
// Embedded `ocelot up` (port 0, temp data dir, no Docker) in this process; a small test repository served by the
// local git smart-HTTP server; N webhooks delivered one at a time, each build waited for.
//   webhook → claimed        = build.startedAt (ms, from the store) − t0 (Date.now() just before the POST)
//   webhook → first command  = the first stage's first line `date +%s%N` (read back from the stored log) − t0
// Baseline, same run, same server: a plain `git clone` of the same repository over the same HTTP server.
// Usage: node bench/pickup.mjs   (after npm run build)   env: OCELOT_BENCH_PICKUP_N (default 30)
import fs from 'node:fs';
import path from 'node:path';
import {
  tempDir, startEmbedded, servedRepo, pushPayload, deliverPush, waitFinal, stageLog, timeSpawn, keepAliveAgent,
  percentile, median, fmt, table, report,
} from './lib.mjs';

const N = Math.max(1, Math.min(200, Number(process.env.OCELOT_BENCH_PICKUP_N ?? 30)));
const WARMUP = 2;
const CLONES = 10;

const PIPELINE = `buildTool: shell
branches: [ALL]
stages:
  - name: first
    script:
      - date +%s%N
      - echo "build $BUILD_ID at $GIT_HASH_SHORT"
`;

const tmp = tempDir('pickup');
const { repo, git, cloneUrl } = await servedRepo(path.join(tmp, 'git'), 'pickup', { 'ocelot.yml': PIPELINE, 'README.md': '# pickup\n' });
const up = await startEmbedded(path.join(tmp, 'data'));
const agent = keepAliveAgent(1);
const commit = repo.commits.at(-1);
const payload = pushPayload({ cloneUrl, repo: 'pickup', commit });
let exitCode = 0;

try {
  const rows = [];
  for (let i = 0; i < WARMUP + N; i++) {
    const t0 = Date.now();
    const buildId = await deliverPush(up, payload, `pickup-${process.pid}-${i}`, agent);
    const answered = Date.now();
    const build = await waitFinal(up.store, buildId);
    if (build.state !== 'PASSED') throw new Error(`build ${buildId} ended ${build.state}: ${build.reason}`);
    const stages = await up.store.getStages(buildId, build.attempt);
    const first = stages.find((s) => s.kind === 'user');
    const ws = stages.find((s) => s.name === 'workspace');
    let text = '';
    await stageLog(up.store, buildId, build.attempt, first.ordinal, (c) => (text += Buffer.from(c.data).toString('utf8')));
    const ns = BigInt(text.split('\n')[0]);
    const firstCommandMs = Number(ns / 1000n) / 1000; // epoch ms with µs precision
    if (i < WARMUP) continue;
    rows.push({
      answered: answered - t0,
      claimed: build.startedAt - t0,
      cloned: ws.finishedAt - t0,
      stageStarted: first.startedAt - t0,
      firstCommand: firstCommandMs - t0,
      finished: build.finishedAt - t0,
    });
  }

  // Baseline: git clone of the same repository from the same server, in this run.
  const clones = [];
  const gitEnv = { PATH: process.env.PATH, HOME: tmp, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', GIT_TERMINAL_PROMPT: '0' };
  for (let i = 0; i < CLONES + 1; i++) {
    const dir = path.join(tmp, `clone-${i}`);
    const ms = await timeSpawn('git', ['clone', '-q', cloneUrl, dir], { env: gitEnv });
    if (i > 0) clones.push(ms); // first one warms the page cache, like the warm-up builds
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const cloneP50 = median(clones);

  const col = (k) => rows.map((r) => r[k]);
  table(`Pickup: ${N} signed GitHub push webhooks, one at a time (after ${WARMUP} warm-up builds), ms after t0 = just before the POST`, [
    ['step', 'p50', 'p95', 'max'],
    ...[
      ['webhook answered (202)', 'answered'],
      ['werker claimed (build.started_at)', 'claimed'],
      ['workspace stage done (clone)', 'cloned'],
      ['first stage started_at', 'stageStarted'],
      ['first command running (date +%s%N)', 'firstCommand'],
      ['build finished', 'finished'],
    ].map(([label, k]) => [label, fmt(median(col(k))), fmt(percentile(col(k), 95)), fmt(Math.max(...col(k)))]),
    ['baseline: git clone, same server', fmt(cloneP50), fmt(percentile(clones, 95)), fmt(Math.max(...clones))],
  ]);

  const claimedP50 = median(col('claimed'));
  const firstP50 = median(col('firstCommand'));
  const figures = [
    {
      figure: 'Pickup: webhook → werker claimed (p50 / p95)',
      goal: 'p50 ≤ 10 ms',
      measured: `${fmt(claimedP50)} / ${fmt(percentile(col('claimed'), 95))} ms`,
      baseline: `git clone ${fmt(cloneP50)} ms`,
      ratio: `${fmt(claimedP50 / cloneP50, 2)}×`,
      ok: claimedP50 <= 10,
      command: 'node bench/pickup.mjs',
    },
    {
      figure: 'Pickup: webhook → first stage command running (p50 / p95)',
      goal: 'p50 ≤ 200 ms',
      measured: `${fmt(firstP50)} / ${fmt(percentile(col('firstCommand'), 95))} ms`,
      baseline: `git clone ${fmt(cloneP50)} ms`,
      ratio: `${fmt(firstP50 / cloneP50, 2)}×`,
      ok: firstP50 <= 200,
      command: 'node bench/pickup.mjs',
    },
  ];
  table('Pickup figures', [
    ['figure', 'goal', 'measured', 'baseline', 'ratio', 'meets goal'],
    ...figures.map((f) => [f.figure, f.goal, f.measured, f.baseline, f.ratio, f.ok ? 'yes' : 'NO']),
  ]);
  console.log('  (started_at is whole milliseconds, so webhook → claimed can read up to 1 ms low)');
  report('pickup', figures);
} catch (err) {
  console.error(`pickup bench failed: ${err instanceof Error ? err.stack : err}`);
  exitCode = 1;
} finally {
  agent.destroy();
  await up.stop();
  await git.close();
  fs.rmSync(tmp, { recursive: true, force: true });
}
process.exit(exitCode);
