// Throughput in distributed mode: `ocelot server` on PostgreSQL and 4 `ocelot werker` processes (2 slots each)
// drain 1,000 trivial builds. The builds are queued first, as fast as signed webhooks go (32 in flight), while
// the werkers are already idle and claiming, so intake and draining overlap as they do for real.
//   builds/s = builds / (last build finished − first webhook sent)
// Every stage appends its $BUILD_ID to one file on this host: each build must appear there exactly once
// (0 run twice), every build must be PASSED with exactly one attempt (0 lost).
// Baseline, same run: the same builds drained by ONE werker process with 1 slot (so the ratio is the speed-up).
// Reference for the machine's speed, same run: each build's commands without any CI around them (git clone
// --local of the repository, git checkout, the stage's bash line, rm -rf), 8 at a time from this process. The
// figure is absolute, so on a slower VM it drops with this reference; the share of it is what Ocelot controls.
// Usage: node bench/distributed-throughput.mjs   (after npm run build; PostgreSQL at 127.0.0.1:5432)
//   env: OCELOT_BENCH_BUILDS (default 1000), OCELOT_BENCH_BASELINE_BUILDS (default 100), OCELOT_BENCH_SLOTS (2)
//   (1, 2 and 4 slots per werker gave the same figure here: the run is CPU-bound on 2 cores.)
//   OCELOT_BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the server and werker processes.
import fs from 'node:fs';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import path from 'node:path';
import { tempDir, servedRepo, pushPayload, deliverPush, keepAliveAgent, fmt, table, report } from './lib.mjs';
import { startDistributed } from './distributed-lib.mjs';

const BUILDS = Math.max(10, Number(process.env.OCELOT_BENCH_BUILDS ?? 1000));
const BASELINE_BUILDS = Math.max(10, Number(process.env.OCELOT_BENCH_BASELINE_BUILDS ?? 100));
const WERKERS = 4;
const SLOTS = Number(process.env.OCELOT_BENCH_SLOTS ?? 2);

const tmp = tempDir('dist-throughput');
const ran = path.join(tmp, 'ran.txt');
const PIPELINE = `buildTool: shell
branches: [ALL]
stages:
  - name: mark
    script: ["echo $BUILD_ID >> ${ran}"]
`;
const { repo, git, cloneUrl } = await servedRepo(path.join(tmp, 'git'), 'many', { 'ocelot.yml': PIPELINE });
const payload = pushPayload({ cloneUrl, repo: 'many', commit: repo.commits.at(-1) });
let exitCode = 0;

/** One run: a fresh database and server, `werkers` × `slots`, `n` builds. */
async function run(label, n, werkers, slots) {
  fs.rmSync(ran, { force: true });
  const cluster = await startDistributed(path.join(tmp, label), { leaseMs: 15_000 });
  const agent = keepAliveAgent(32);
  try {
    for (let i = 0; i < werkers; i++) await cluster.startWerker(`${label}${i}`, { slots });
    await new Promise((r) => setTimeout(r, 500));
    const t0 = Date.now();
    const ids = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (next < n) {
          const i = next++;
          ids.push(await deliverPush(cluster, payload, `tp-${label}-${process.pid}-${i}`, agent));
        }
      }),
    );
    const queuedMs = Date.now() - t0;
    for (;;) {
      const open = Number((await cluster.db.query(`SELECT count(*) AS n FROM builds WHERE state IN ('QUEUED', 'RUNNING')`)).rows[0].n);
      if (open === 0) break;
      if (Date.now() - t0 > 600_000) throw new Error(`${open} builds still open after 10 min`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const last = Number((await cluster.db.query(`SELECT max(finished_at) AS t FROM builds`)).rows[0].t);
    const seconds = (last - t0) / 1000;
    const notPassed = Number((await cluster.db.query(`SELECT count(*) AS n FROM builds WHERE state <> 'PASSED'`)).rows[0].n);
    const multi = Number((await cluster.db.query(`SELECT count(*) AS n FROM (SELECT build_id FROM attempts GROUP BY build_id HAVING count(*) <> 1) x`)).rows[0].n);
    const lines = fs.readFileSync(ran, 'utf8').split('\n').filter(Boolean);
    const counts = new Map();
    for (const l of lines) counts.set(l, (counts.get(l) ?? 0) + 1);
    const twice = [...counts.values()].filter((c) => c > 1).length;
    const never = ids.filter((id) => !counts.has(String(id))).length;
    return { n, seconds, rate: n / seconds, queuedMs, lost: notPassed + multi + never, twice, notPassed, multi, never };
  } finally {
    agent.destroy();
    await cluster.close();
  }
}

/** The reference: per build `git clone --local`, `git checkout`, `bash -c 'echo N >> file'`, `rm -rf`; 8 lanes. */
async function bare(n, lanes) {
  const exec = promisify(execFile);
  const dir = path.join(tmp, 'bare');
  const marks = path.join(tmp, 'bare-ran.txt');
  const commit = repo.commits.at(-1);
  fs.mkdirSync(dir, { recursive: true });
  const t0 = Date.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: lanes }, async () => {
      while (next < n) {
        const ws = path.join(dir, String(next++));
        await exec('git', ['clone', '-q', '--local', '--no-checkout', '--no-tags', repo.bareDir, ws]);
        await exec('git', ['-C', ws, 'checkout', '-q', '--detach', commit]);
        await exec('bash', ['-c', `echo ${ws} >> ${marks}`], { cwd: ws });
        fs.rmSync(ws, { recursive: true, force: true });
      }
    }),
  );
  const seconds = (Date.now() - t0) / 1000;
  return { n, seconds, rate: n / seconds };
}

try {
  const base = await run('base', BASELINE_BUILDS, 1, 1);
  const main = await run('fleet', BUILDS, WERKERS, SLOTS);
  const ref = await bare(BUILDS / 2, WERKERS * SLOTS);
  table(`Distributed throughput: trivial builds, PostgreSQL, werker processes on this machine`, [
    ['run', 'builds', 'all queued after', 'drained after', 'builds/s', 'lost', 'run twice'],
    [`${WERKERS} werkers × ${SLOTS} slots`, main.n, `${fmt(main.queuedMs / 1000)} s`, `${fmt(main.seconds)} s`, fmt(main.rate), main.lost, main.twice],
    ['baseline: 1 werker × 1 slot', base.n, `${fmt(base.queuedMs / 1000)} s`, `${fmt(base.seconds)} s`, fmt(base.rate), base.lost, base.twice],
    [`reference: the commands alone, ${WERKERS * SLOTS} at a time`, ref.n, '', `${fmt(ref.seconds)} s`, fmt(ref.rate), '', ''],
  ]);
  console.log(`  Ocelot drains at ${fmt((100 * main.rate) / ref.rate, 0)}% of the rate of the builds' own commands run bare (the machine's speed).`);
  if (main.lost) console.log(`  lost: ${main.notPassed} not PASSED, ${main.multi} with ≠ 1 attempt, ${main.never} never ran`);
  const figures = [
    {
      figure: `Distributed throughput: ${WERKERS} werker processes (× ${SLOTS} slots) drain ${BUILDS} trivial builds (PostgreSQL; workspaces from the werkers' repository cache)`,
      goal: '≥ 50 builds/s, 0 lost, 0 run twice',
      measured: `${fmt(main.rate)} builds/s, ${main.lost} lost, ${main.twice} run twice`,
      baseline: `1 werker × 1 slot: ${fmt(base.rate)} builds/s; the commands alone: ${fmt(ref.rate)}/s`,
      ratio: `${fmt(main.rate / base.rate, 2)}×`,
      ok: main.rate >= 50 && main.lost === 0 && main.twice === 0,
      command: 'node bench/distributed-throughput.mjs',
    },
  ];
  report('distributed-throughput', figures);
  console.log(`\n${figures[0].figure}: ${figures[0].measured} (goal ${figures[0].goal}; ${figures[0].ok ? 'met' : 'NOT met'})`);
} catch (err) {
  console.error(`distributed-throughput bench failed: ${err instanceof Error ? err.stack : err}`);
  exitCode = 1;
} finally {
  await git.close();
  fs.rmSync(tmp, { recursive: true, force: true });
}
process.exit(exitCode);
