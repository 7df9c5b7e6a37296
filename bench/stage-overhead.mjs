// Per-stage overhead: a pipeline of 50 stages, each `true`, run END TO END through the embedded `ocelot up`
// (signed webhook → queue → in-process werker → host runtime → every stage row and log stored in SQLite).
//   ours per stage = (last user stage finished_at − first user stage started_at) / 50, from the stored stage rows
// Baselines in the same run: (a) 50 separate `bash -c true` processes spawned one after another from Node,
// (b) one bash running all 50 `true` lines. Overhead = ours − baseline (a), per stage.
// Usage: node bench/stage-overhead.mjs   (after npm run build)   env: OCELOT_BENCH_ROUNDS (default 5)
import fs from 'node:fs';
import path from 'node:path';
import {
  tempDir, startEmbedded, servedRepo, pushPayload, deliverPush, waitFinal, timeSpawn, median, fmt, table, report,
} from './lib.mjs';

const STAGES = 50;
const ROUNDS = Math.max(1, Math.min(20, Number(process.env.OCELOT_BENCH_ROUNDS ?? 5)));

const PIPELINE = `buildTool: shell
branches: [ALL]
stages:
${Array.from({ length: STAGES }, (_, i) => `  - name: s${i + 1}\n    script: ["true"]\n`).join('')}`;

const tmp = tempDir('stages');
const { repo, git, cloneUrl } = await servedRepo(path.join(tmp, 'git'), 'stages', { 'ocelot.yml': PIPELINE });
const up = await startEmbedded(path.join(tmp, 'data'));
const payload = pushPayload({ cloneUrl, repo: 'stages', commit: repo.commits.at(-1) });
let exitCode = 0;

try {
  const ours = [];
  const whole = [];
  const sepBash = [];
  const oneBash = [];
  const oneScript = Array.from({ length: STAGES }, () => 'true').join('\n');
  for (let round = 0; round <= ROUNDS; round++) {
    // ours
    const buildId = await deliverPush(up, payload, `stages-${process.pid}-${round}`);
    const build = await waitFinal(up.store, buildId);
    if (build.state !== 'PASSED') throw new Error(`build ${buildId} ended ${build.state}: ${build.reason}`);
    const user = (await up.store.getStages(buildId, build.attempt)).filter((s) => s.kind === 'user');
    if (user.length !== STAGES || user.some((s) => s.state !== 'PASSED' || s.exitCode !== 0)) {
      throw new Error(`build ${buildId}: expected ${STAGES} PASSED stages with exit 0`);
    }
    const span = user.at(-1).finishedAt - user[0].startedAt;
    // (a) 50 separate bash processes, one after another
    const t0 = performance.now();
    for (let i = 0; i < STAGES; i++) await timeSpawn('bash', ['-c', 'true']);
    const a = performance.now() - t0;
    // (b) one bash, 50 lines
    const b = await timeSpawn('bash', ['-c', oneScript]);
    if (round === 0) continue; // warm-up round
    ours.push(span / STAGES);
    whole.push(build.finishedAt - build.startedAt);
    sepBash.push(a / STAGES);
    oneBash.push(b / STAGES);
  }

  const o = median(ours);
  const a = median(sepBash);
  const b = median(oneBash);
  table(`Stage overhead: ${STAGES} stages of \`true\`, ${ROUNDS} builds end to end through ocelot up (medians, after a warm-up round)`, [
    ['what', 'ms per stage', 'ms for 50'],
    ['ocelot: first stage start → last stage end', fmt(o, 2), fmt(o * STAGES, 0)],
    ['ocelot: whole build, claimed → finished', fmt(median(whole) / STAGES, 2), fmt(median(whole), 0)],
    ['baseline (a): 50 × `bash -c true` spawned from Node', fmt(a, 2), fmt(a * STAGES, 0)],
    ['baseline (b): one bash running 50 `true`', fmt(b, 3), fmt(b * STAGES, 1)],
    ['overhead: ocelot − (a)', fmt(o - a, 2), fmt((o - a) * STAGES, 0)],
    ['overhead: ocelot − (b)', fmt(o - b, 2), fmt((o - b) * STAGES, 0)],
  ]);
  const figures = [
    {
      figure: 'Per-stage overhead, 50 stages of `true` (end to end through ocelot up)',
      goal: '≤ 5 ms/stage over bash',
      measured: `${fmt(o, 2)} ms/stage (overhead ${fmt(o - a, 2)} ms over (a), ${fmt(o - b, 2)} ms over (b))`,
      baseline: `(a) 50 × bash -c true: ${fmt(a, 2)} ms/stage; (b) one bash: ${fmt(b, 3)} ms/stage`,
      ratio: `${fmt(o / a, 2)}× (a)`,
      ok: o - a <= 5,
      command: 'node bench/stage-overhead.mjs',
    },
  ];
  table('Stage-overhead figure', [
    ['figure', 'goal', 'measured', 'ratio', 'meets goal (vs a)'],
    ...figures.map((f) => [f.figure, f.goal, f.measured, f.ratio, f.ok ? 'yes' : 'NO']),
  ]);
  report('stage-overhead', figures);
} catch (err) {
  console.error(`stage-overhead bench failed: ${err instanceof Error ? err.stack : err}`);
  exitCode = 1;
} finally {
  await up.stop();
  await git.close();
  fs.rmSync(tmp, { recursive: true, force: true });
}
process.exit(exitCode);
