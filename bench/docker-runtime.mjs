// Docker runtime figures, as ratios against the plain docker CLI measured in the same run on the same engine.
// Run `npm run build` first (this imports from dist/). Needs a Docker engine and the test image
// (scripts/ensure-docker.sh). Image: OCELOT_BENCH_IMAGE, default ocelot-test/busybox:latest.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

const dist = process.env.OCELOT_DIST ?? new URL('../dist/', import.meta.url).href;
const { createDockerRuntime, sweepOrphans } = await import(new URL('runtimes/docker/index.js', dist).href);

const IMAGE = process.env.OCELOT_BENCH_IMAGE ?? 'ocelot-test/busybox:latest';
const ROUNDS = Number(process.env.OCELOT_BENCH_ROUNDS ?? 5);
const WERKER = `bench-${process.pid}`;
const workspace = mkdtempSync(join(tmpdir(), 'ocelot-bench-ws-'));
const runtime = createDockerRuntime({ pullPolicy: 'never', werkerId: WERKER });
const never = new AbortController().signal;
let buildId = 1;

/** An output sink that only counts, like `> /dev/null` for the CLI side. */
function countingOutput() {
  let bytes = 0;
  return { fd: -1, write: (d) => { bytes += d.length; }, get bytes() { return bytes; } };
}
const stage = (script, output = countingOutput()) => ({
  name: 'bench', script, env: [], timeoutMs: 600_000, killGraceMs: 1000, output, signal: never,
});
const job = () => ({ buildId: buildId++, attempt: 1, werkerId: WERKER, workspaceHostPath: workspace, image: IMAGE });
const docker = (...args) => {
  const r = spawnSync('docker', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.status !== 0) throw new Error(`docker ${args.join(' ')}: ${r.stderr}`);
};
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
async function time(fn) {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

// Warm up both paths once (image layers in page cache, client negotiated).
{
  const s = await runtime.prepare(job(), countingOutput(), never);
  await s.runStage(stage(['true']));
  await s.destroy();
  docker('run', '--rm', IMAGE, 'true');
}

// 1. Per-stage overhead: 50 stages of `true` vs 50 `docker exec <container> sh -e -c true`.
const stagesOurs = [];
const stagesCli = [];
for (let round = 0; round < ROUNDS; round++) {
  const s = await runtime.prepare(job(), countingOutput(), never);
  stagesOurs.push(await time(async () => {
    for (let i = 0; i < 50; i++) {
      const r = await s.runStage(stage(['true']));
      if (r.state !== 'PASSED') throw new Error(`stage failed: ${JSON.stringify(r)}`);
    }
  }));
  stagesCli.push(await time(() => { for (let i = 0; i < 50; i++) docker('exec', s.id, 'sh', '-e', '-c', 'true'); }));
  await s.destroy();
}

// 2. Container start to first stage command done vs `docker run --rm IMAGE true`.
const startOurs = [];
const startCli = [];
for (let round = 0; round < ROUNDS; round++) {
  let s;
  startOurs.push(await time(async () => {
    s = await runtime.prepare(job(), countingOutput(), never);
    await s.runStage(stage(['true']));
  }));
  await s.destroy();
  startCli.push(await time(() => docker('run', '--rm', IMAGE, 'true')));
}

// 3. 1M-line log: container start + `seq 1 1000000` into the build log vs `docker run IMAGE seq ... > /dev/null`.
const logOurs = [];
const logCli = [];
for (let round = 0; round < ROUNDS; round++) {
  const out = countingOutput();
  let s;
  logOurs.push(await time(async () => {
    s = await runtime.prepare(job(), countingOutput(), never);
    await s.runStage(stage(['seq 1 1000000'], out));
  }));
  await s.destroy();
  if (out.bytes !== 6_888_896) throw new Error(`expected 6888896 log bytes, got ${out.bytes}`);
  const name = `ocelot-bench-seq-${process.pid}-${round}`;
  logCli.push(await time(() => docker('run', '--name', name, IMAGE, 'seq', '1', '1000000')));
  docker('rm', '-f', name);
}

await sweepOrphans({ werkerId: WERKER, isBuildRunning: () => false });
rmSync(workspace, { recursive: true, force: true });

const engine = execFileSync('docker', ['version', '--format', '{{.Server.Version}} (API {{.Server.APIVersion}})']).toString().trim();
const rows = [
  ['50 stages of `true` vs 50 `docker exec`', median(stagesOurs), median(stagesCli), 1.2],
  ['container start -> first stage vs `docker run --rm IMAGE true`', median(startOurs), median(startCli), 1.5],
  ['1M-line log vs `docker run IMAGE seq 1 1000000 >/dev/null`', median(logOurs), median(logCli), 1.5],
];
console.log(`docker runtime bench: engine ${engine}, image ${IMAGE}, median of ${ROUNDS} rounds`);
console.log('| measure | ocelot ms | docker CLI ms | ratio | target |');
console.log('|---|---:|---:|---:|---:|');
for (const [what, ours, cli, target] of rows) {
  const ratio = ours / cli;
  console.log(`| ${what} | ${ours.toFixed(0)} | ${cli.toFixed(0)} | ${ratio.toFixed(2)}x | <= ${target}x ${ratio <= target ? 'ok' : 'MISSED'} |`);
}
