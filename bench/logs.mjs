// Logs: a stage running `seq 1 1000000`, and one printing 100 MB, through the embedded `ocelot up` (in this process).
//   ours     = build finished_at − the stage's started_at: from the stage starting to its whole log being stored
//              (the werker drains the log spool into the store before it records the build's final state)
//   baseline = the same command spawned with bash, stdout and stderr to /dev/null, in the same run
//              (also shown, not used for the ratio: the same command redirected into a file in the same temp dir)
// Every stored line is checked afterwards by reading the log back through the store: for seq, the count and
// order of 1..1000000; for the 100 MB one, the total bytes and every 100-byte line.
// Server RSS: process.memoryUsage().rss sampled every 20 ms while each build runs (the server is this process).
// Usage: node bench/logs.mjs   (after npm run build)   env: OCELOT_BENCH_LOG_ROUNDS (default 3)
import fs from 'node:fs';
import path from 'node:path';
import {
  tempDir, startEmbedded, createTestRepo, addCommit, startGitHttpServer, pushPayload, deliverPush, waitFinal, stageLog,
  timeSpawn, median, fmt, table, report, rssSampler, MB,
} from './lib.mjs';

const ROUNDS = Math.max(1, Math.min(10, Number(process.env.OCELOT_BENCH_LOG_ROUNDS ?? 3)));
const LINE = `${'a'.repeat(90)} 99 chars`; // 99 characters + newline = 100 bytes
if (LINE.length !== 99) throw new Error('bad line');
const BIG_BYTES = 100_000_000;
const SEQ_N = 1_000_000;
const CASES = {
  seq: { command: `seq 1 ${SEQ_N}`, label: `seq 1 ${SEQ_N}` },
  big: { command: `yes '${LINE}' | head -c ${BIG_BYTES}`, label: '100 MB (yes | head -c 100000000)' },
};
const pipeline = (name, command) => `buildTool: shell
branches: [ALL]
stages:
  - name: ${name}
    script:
      - ${JSON.stringify(command)}
`;

const tmp = tempDir('logs');
const gitRoot = path.join(tmp, 'git');
const repo = await createTestRepo(path.join(gitRoot, 'bench'), { 'README.md': '# logs\n' }, { name: 'logs' });
const commits = {};
for (const [name, c] of Object.entries(CASES)) {
  commits[name] = await addCommit(repo, { 'ocelot.yml': pipeline(name, c.command) }, { branch: name, message: name });
}
const git = await startGitHttpServer({ root: gitRoot });
const cloneUrl = `${git.url}/bench/logs.git`;
const up = await startEmbedded(path.join(tmp, 'data'));
const sampler = rssSampler(20);
let exitCode = 0;

try {
  await new Promise((r) => setTimeout(r, 500));
  const idleRss = process.memoryUsage().rss;
  const results = { seq: [], big: [] };
  const devnull = fs.openSync('/dev/null', 'w');
  let delivery = 0;
  for (let round = 0; round < ROUNDS; round++) {
    for (const name of Object.keys(CASES)) {
      // ours
      sampler.reset();
      const payload = pushPayload({ cloneUrl, repo: 'logs', commit: commits[name], branch: name });
      const buildId = await deliverPush(up, payload, `logs-${process.pid}-${delivery++}`);
      const build = await waitFinal(up.store, buildId, 120_000);
      const peak = sampler.peak;
      if (build.state !== 'PASSED') throw new Error(`build ${buildId} ended ${build.state}: ${build.reason}`);
      const stage = (await up.store.getStages(buildId, build.attempt)).find((s) => s.kind === 'user');
      // baselines
      const nul = await timeSpawn('bash', ['-c', CASES[name].command], { stdio: ['ignore', devnull, devnull] });
      const outFile = path.join(tmp, 'baseline.out');
      const fd = fs.openSync(outFile, 'w');
      const file = await timeSpawn('bash', ['-c', CASES[name].command], { stdio: ['ignore', fd, fd] });
      fs.closeSync(fd);
      fs.rmSync(outFile, { force: true });
      results[name].push({
        buildId,
        attempt: build.attempt,
        ordinal: stage.ordinal,
        stored: build.finishedAt - stage.startedAt,
        stageRan: stage.finishedAt - stage.startedAt,
        nul,
        file,
        peak,
      });
    }
  }
  fs.closeSync(devnull);
  sampler.stop();

  // Verify every stored line, reading back through the store in bounded batches.
  const verified = {};
  for (const r of results.seq) {
    let carry = '';
    let next = 1;
    await stageLog(up.store, r.buildId, r.attempt, r.ordinal, (c) => {
      const lines = (carry + Buffer.from(c.data).toString('latin1')).split('\n');
      carry = lines.pop();
      for (const l of lines) {
        if (l !== String(next)) throw new Error(`seq build ${r.buildId}: line ${next} reads '${l.slice(0, 20)}'`);
        next++;
      }
    });
    if (carry !== '' || next - 1 !== SEQ_N) throw new Error(`seq build ${r.buildId}: ${next - 1} lines stored, expected ${SEQ_N}`);
    verified.seq = `${SEQ_N} lines, in order`;
  }
  const pattern = Buffer.from(`${LINE}\n`.repeat(2700 + 2)); // ≥ one 256 KiB chunk + a line of phase shift
  for (const r of results.big) {
    let bytes = 0;
    await stageLog(up.store, r.buildId, r.attempt, r.ordinal, (c) => {
      const data = Buffer.from(c.data.buffer, c.data.byteOffset, c.data.byteLength);
      const phase = bytes % 100;
      if (data.byteLength + phase > pattern.byteLength) throw new Error(`chunk of ${data.byteLength} bytes larger than expected`);
      if (!data.equals(pattern.subarray(phase, phase + data.byteLength))) throw new Error(`100 MB build ${r.buildId}: wrong bytes near ${bytes}`);
      bytes += data.byteLength;
    });
    if (bytes !== BIG_BYTES) throw new Error(`100 MB build ${r.buildId}: ${bytes} bytes stored, expected ${BIG_BYTES}`);
    verified.big = `${BIG_BYTES} bytes = ${BIG_BYTES / 100} lines, all checked`;
  }

  const figures = [];
  const rows = [['case', 'ours: stage start → log stored', 'stage ran', 'bash > /dev/null', 'bash > file', 'ratio vs /dev/null', 'ratio vs file', 'RSS peak']];
  let peakAll = 0;
  for (const [name, c] of Object.entries(CASES)) {
    const rs = results[name];
    const ours = median(rs.map((r) => r.stored));
    const nul = median(rs.map((r) => r.nul));
    const file = median(rs.map((r) => r.file));
    const peak = Math.max(...rs.map((r) => r.peak));
    peakAll = Math.max(peakAll, peak);
    rows.push([c.label, `${fmt(ours, 0)} ms`, `${fmt(median(rs.map((r) => r.stageRan)), 0)} ms`, `${fmt(nul, 0)} ms`, `${fmt(file, 0)} ms`,
      `${fmt(ours / nul, 2)}×`, `${fmt(ours / file, 2)}×`, `${fmt(peak / MB, 0)} MB`]);
    figures.push({
      figure: `Logs: ${c.label}, stage start → every chunk stored (${verified[name]})`,
      goal: '≤ 1.5× the command > /dev/null',
      measured: `${fmt(ours, 0)} ms`,
      baseline: `bash > /dev/null ${fmt(nul, 0)} ms (> file ${fmt(file, 0)} ms)`,
      ratio: `${fmt(ours / nul, 2)}×`,
      ok: ours / nul <= 1.5,
      command: 'node bench/logs.mjs',
    });
  }
  figures.push({
    figure: 'Logs: server RSS peak during those builds (sampled every 20 ms)',
    goal: '< 150 MB',
    measured: `${fmt(peakAll / MB, 0)} MB`,
    baseline: `same process idle before the builds ${fmt(idleRss / MB, 0)} MB`,
    ratio: `${fmt(peakAll / idleRss, 2)}×`,
    ok: peakAll < 150 * MB,
    command: 'node bench/logs.mjs',
  });
  table(`Logs: medians of ${ROUNDS} builds per case, through ocelot up (server idle RSS ${fmt(idleRss / MB, 0)} MB)`, rows);
  console.log(`  verified: seq ${verified.seq}; 100 MB ${verified.big}`);
  table('Log figures', [
    ['figure', 'goal', 'measured', 'ratio', 'meets goal'],
    ...figures.map((f) => [f.figure, f.goal, f.measured, f.ratio, f.ok ? 'yes' : 'NO']),
  ]);
  report('logs', figures);
} catch (err) {
  console.error(`logs bench failed: ${err instanceof Error ? err.stack : err}`);
  exitCode = 1;
} finally {
  sampler.stop();
  await up.stop();
  await git.close();
  fs.rmSync(tmp, { recursive: true, force: true });
}
process.exit(exitCode);
