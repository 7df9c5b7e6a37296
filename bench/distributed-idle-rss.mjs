// Idle werker RSS: `ocelot werker --no-docker` as a child process, registered with an `ocelot server` on
// PostgreSQL (its start-up line printed), then 3 s idle in its claim long-poll; VmRSS from /proc/<pid>/status.
// Baseline, same run, measured the same way: a bare node process that keeps one HTTP request open
// (`node -e "…http.get(…)"` against the same server), i.e. the least a werker process could be.
// Usage: node bench/distributed-idle-rss.mjs   (after npm run build; Linux: reads /proc; PostgreSQL at 127.0.0.1:5432)
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { tempDir, fmt, table, report } from './lib.mjs';
import { startDistributed } from './distributed-lib.mjs';

const IDLE_MS = 3_000;
const tmp = tempDir('dist-idle');
const cluster = await startDistributed(path.join(tmp, 'run'));
let exitCode = 0;

function rssOf(pid) {
  const text = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
  return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 };
}

try {
  const w = await cluster.startWerker('idle');
  await new Promise((r) => setTimeout(r, IDLE_MS));
  const werker = rssOf(w.child.pid);

  const bare = spawn(process.execPath, ['-e', `require('http').get(${JSON.stringify(`${cluster.url}/healthz`)}, (r) => { r.resume(); console.log('ready'); setInterval(() => {}, 1000); })`], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve, reject) => {
    bare.stdout.once('data', resolve);
    bare.once('exit', (c) => reject(new Error(`baseline exited ${c}`)));
  });
  await new Promise((r) => setTimeout(r, IDLE_MS));
  const base = rssOf(bare.pid);
  bare.kill('SIGKILL');

  table(`Idle werker RSS: ${IDLE_MS / 1000} s idle after registering (MB)`, [
    ['process', 'VmRSS', 'VmHWM (peak)', 'ratio to baseline'],
    ['ocelot werker --no-docker (1 slot, long-poll claim)', fmt(werker.rss), fmt(werker.hwm), `${fmt(werker.rss / base.rss, 2)}×`],
    ['baseline: bare node with one HTTP request', fmt(base.rss), fmt(base.hwm), '1.00×'],
  ]);
  const figures = [
    {
      figure: `Idle \`ocelot werker --no-docker\` RSS, ${IDLE_MS / 1000} s after registering with a PostgreSQL server`,
      goal: '< 60 MB',
      measured: `${fmt(werker.rss, 0)} MB`,
      baseline: `bare node process with one HTTP request: ${fmt(base.rss, 0)} MB`,
      ratio: `${fmt(werker.rss / base.rss, 2)}×`,
      ok: werker.rss < 60,
      command: 'node bench/distributed-idle-rss.mjs',
    },
  ];
  report('distributed-idle-rss', figures);
  console.log(`\n${figures[0].figure}: ${figures[0].measured} (goal ${figures[0].goal}; ${figures[0].ok ? 'met' : 'NOT met'})`);
} catch (err) {
  console.error(`distributed-idle-rss bench failed: ${err instanceof Error ? err.stack : err}`);
  exitCode = 1;
} finally {
  await cluster.close();
}
process.exit(exitCode);
