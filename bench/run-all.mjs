// `npm run bench`: every figure of the README, one benchmark after another (each a separate node process, so one
// does not warm or load the next), then all figures in one table, as Markdown for the README's "Figures".
// Each benchmark prints its own table with its baseline measured in the same run. Run after `npm run build`.
// Exit code: 1 if a benchmark crashed; figures that miss their goal are reported, not fatal.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const BENCHES = [
  'pickup', 'stage-overhead', 'logs', 'ingest', 'idle-rss',
  // Distributed mode: PostgreSQL at 127.0.0.1:5432, ocelot server and werker processes.
  'distributed-pickup', 'distributed-throughput', 'distributed-dead-werker', 'distributed-idle-rss',
];
const only = process.argv.slice(2);
const results = fs.mkdtempSync(path.join(os.tmpdir(), 'ocelot-bench-results-'));

const failed = [];
for (const name of BENCHES.filter((b) => only.length === 0 || only.includes(b))) {
  console.log(`\n=== node bench/${name}.mjs`);
  const t0 = performance.now();
  const code = await new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(here, `${name}.mjs`)], {
      stdio: 'inherit',
      env: { ...process.env, OCELOT_BENCH_RESULTS: results },
    });
    child.once('error', () => resolve(1));
    child.once('exit', (c, sig) => resolve(c ?? (sig ? 1 : 0)));
  });
  console.log(`=== ${name}: exit ${code}, ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  if (code !== 0) failed.push(name);
}

const figures = [];
for (const name of BENCHES) {
  const file = path.join(results, `${name}.json`);
  if (fs.existsSync(file)) figures.push(...JSON.parse(fs.readFileSync(file, 'utf8')).figures);
}
fs.rmSync(results, { recursive: true, force: true });

const cpu = os.cpus()[0]?.model?.trim() ?? 'unknown CPU';
console.log(`\nAll figures (${new Date().toISOString().slice(0, 10)}, ${os.cpus().length} × ${cpu}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${os.type()} ${os.release()}):\n`);
console.log('| Figure | Goal | Measured | Baseline (same run) | Ratio | Meets goal | Reproduce |');
console.log('|---|---|---|---|---|---|---|');
for (const f of figures) {
  const cell = (v) => String(v).replaceAll('|', '\\|');
  console.log(`| ${cell(f.figure)} | ${cell(f.goal)} | ${cell(f.measured)} | ${cell(f.baseline)} | ${cell(f.ratio)} | ${f.ok ? 'yes' : '**no**'} | \`${f.command}\` |`);
}
if (failed.length) console.log(`\nCrashed: ${failed.join(', ')}`);
process.exit(failed.length ? 1 : 0);
