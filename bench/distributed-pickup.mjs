// Pickup in distributed mode: `ocelot server` on PostgreSQL and one idle `ocelot werker` process (long-poll
// claim, woken by LISTEN/NOTIFY), both child processes. N signed GitHub push webhooks, one at a time:
//   webhook → first command = the first stage's first line `date +%s%N` (read back through the logs API) − t0
// (t0 = Date.now() just before the POST). Includes the werker's git fetch of the commit, like a real build.
// Baseline, same run, same git server: a plain `git clone` of the same repository.
// Usage: node bench/distributed-pickup.mjs   (after npm run build; PostgreSQL at 127.0.0.1:5432)
//   env: OCELOT_BENCH_PICKUP_N (default 30)
import fs from 'node:fs';
import path from 'node:path';
import { tempDir, servedRepo, pushPayload, deliverPush, timeSpawn, keepAliveAgent, percentile, median, fmt, table, report } from './lib.mjs';
import { startDistributed, isFinal } from './distributed-lib.mjs';

const N = Math.max(1, Math.min(200, Number(process.env.OCELOT_BENCH_PICKUP_N ?? 30)));
const WARMUP = 2;
const CLONES = 10;
const PIPELINE = `buildTool: shell
branches: [ALL]
stages:
  - name: first
    script:
      - date +%s%N
`;

const tmp = tempDir('dist-pickup');
const { repo, git, cloneUrl } = await servedRepo(path.join(tmp, 'git'), 'pickup', { 'ocelot.yml': PIPELINE, 'README.md': '# pickup\n' });
const cluster = await startDistributed(path.join(tmp, 'run'));
const agent = keepAliveAgent(1);
const payload = pushPayload({ cloneUrl, repo: 'pickup', commit: repo.commits.at(-1) });
let exitCode = 0;

try {
  await cluster.startWerker('idle');
  // Let the werker settle into its long-poll.
  await new Promise((r) => setTimeout(r, 500));
  const firsts = [];
  const answers = [];
  const claimed = [];
  const cloned = [];
  const started = [];
  for (let i = 0; i < WARMUP + N; i++) {
    const t0 = Date.now();
    const id = await deliverPush(cluster, payload, `dpickup-${process.pid}-${i}`, agent);
    const answered = Date.now();
    const view = await cluster.waitBuild(id, isFinal, 60_000, 20);
    if (view.build.state !== 'PASSED') throw new Error(`build ${id} ended ${view.build.state}: ${view.build.reason}`);
    const log = await cluster.api('GET', `/api/v1/builds/${id}/logs`);
    const line = log.split('\n').find((l) => /^\d{18,}$/.test(l.trim()));
    if (!line) throw new Error(`build ${id}: no timestamp in its log:\n${log}`);
    const firstMs = Number(BigInt(line.trim()) / 1000n) / 1000;
    if (i < WARMUP) continue;
    firsts.push(firstMs - t0);
    answers.push(answered - t0);
    const at = (iso) => Date.parse(iso) - t0;
    claimed.push(at(view.build.startedAt));
    cloned.push(at(view.stages.find((s) => s.name === 'workspace').finishedAt));
    started.push(at(view.stages.find((s) => s.name === 'first').startedAt));
  }

  const clones = [];
  const gitEnv = { PATH: process.env.PATH, HOME: tmp, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', GIT_TERMINAL_PROMPT: '0' };
  for (let i = 0; i < CLONES + 1; i++) {
    const dir = path.join(tmp, `clone-${i}`);
    const ms = await timeSpawn('git', ['clone', '-q', cloneUrl, dir], { env: gitEnv });
    if (i > 0) clones.push(ms);
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const cloneP50 = median(clones);
  const p50 = median(firsts);
  table(`Distributed pickup: ${N} webhooks one at a time, idle remote werker process, PostgreSQL (ms after the POST)`, [
    ['step', 'p50', 'p95', 'max'],
    ['webhook answered (202)', fmt(median(answers)), fmt(percentile(answers, 95)), fmt(Math.max(...answers))],
    ['werker claimed (build startedAt)', fmt(median(claimed)), fmt(percentile(claimed, 95)), fmt(Math.max(...claimed))],
    ['workspace stage done (git fetch)', fmt(median(cloned)), fmt(percentile(cloned, 95)), fmt(Math.max(...cloned))],
    ['first stage startedAt', fmt(median(started)), fmt(percentile(started, 95)), fmt(Math.max(...started))],
    ['first command running (date +%s%N)', fmt(p50), fmt(percentile(firsts, 95)), fmt(Math.max(...firsts))],
    ['baseline: git clone, same server', fmt(cloneP50), fmt(percentile(clones, 95)), fmt(Math.max(...clones))],
  ]);
  const figures = [
    {
      figure: 'Distributed pickup (PostgreSQL, idle remote werker): webhook → first stage command (p50 / p95)',
      goal: 'p50 ≤ 150 ms',
      measured: `${fmt(p50)} / ${fmt(percentile(firsts, 95))} ms`,
      baseline: `git clone ${fmt(cloneP50)} ms`,
      ratio: `${fmt(p50 / cloneP50, 2)}×`,
      ok: p50 <= 150,
      command: 'node bench/distributed-pickup.mjs',
    },
  ];
  report('distributed-pickup', figures);
  console.log(`\n${figures[0].figure}: ${figures[0].measured} (goal ${figures[0].goal}; ${figures[0].ok ? 'met' : 'NOT met'})`);
} catch (err) {
  console.error(`distributed-pickup bench failed: ${err instanceof Error ? err.stack : err}`);
  exitCode = 1;
} finally {
  agent.destroy();
  await cluster.close();
  await git.close();
  fs.rmSync(tmp, { recursive: true, force: true });
}
process.exit(exitCode);
