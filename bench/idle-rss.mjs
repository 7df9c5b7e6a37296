// Idle RSS: `node bin/ocelot.js up` as a child process on a temp data dir, ready (/healthz 200), then 3 s idle;
// its VmRSS from /proc/<pid>/status. Measured twice: as a user starts it (Docker used when an engine answers) and
// with --no-docker. Baseline, same run, measured the same way: a bare node HTTP server,
// `node -e "require('http').createServer().listen(0, …)"`.
// Usage: node bench/idle-rss.mjs   (after npm run build; Linux: reads /proc)
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir, fmt, table, report } from './lib.mjs';

const IDLE_MS = 3_000;
const bin = fileURLToPath(new URL('../bin/ocelot.js', import.meta.url));
const tmp = tempDir('idle');

function status(pid) {
  const text = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
  return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 };
}

/** Start `args` with node, wait until `ready(stdout so far)` gives a URL or true, idle 3 s, read its memory, stop it. */
async function measure(label, args, ready) {
  // Secrets are generated into the temp data dir, never taken from this environment.
  const env = { ...process.env };
  delete env.OCELOT_WEBHOOK_SECRET;
  delete env.OCELOT_ADMIN_TOKEN;
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  try {
    const url = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${label}: not ready after 20 s; stdout: ${out} stderr: ${err}`)), 20_000);
      child.stdout.on('data', (d) => {
        out += d;
        const r = ready(out);
        if (r) {
          clearTimeout(timer);
          resolve(r);
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`${label}: exited ${code} before it was ready: ${err || out}`));
      });
    });
    if (typeof url === 'string') {
      const res = await fetch(`${url}/healthz`);
      if (res.status !== 200) throw new Error(`${label}: /healthz answered ${res.status}`);
      await res.arrayBuffer();
    }
    await new Promise((r) => setTimeout(r, IDLE_MS));
    return status(child.pid);
  } finally {
    await new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const force = setTimeout(() => child.kill('SIGKILL'), 15_000);
      child.once('exit', () => {
        clearTimeout(force);
        resolve();
      });
      child.kill('SIGTERM');
    });
  }
}

const upReady = (out) => /up at (http:\/\/\S+)/.exec(out)?.[1];
let exitCode = 0;
try {
  const base = await measure('bare node http server', ['-e', "require('http').createServer().listen(0, () => console.log('listening'))"], (o) => o.includes('listening'));
  const def = await measure('ocelot up', [bin, 'up', '--host', '127.0.0.1', '--port', '0', '--data-dir', path.join(tmp, 'a')], upReady);
  const noDocker = await measure('ocelot up --no-docker', [bin, 'up', '--host', '127.0.0.1', '--port', '0', '--data-dir', path.join(tmp, 'b'), '--no-docker'], upReady);

  table(`Idle RSS after /healthz 200 + ${IDLE_MS / 1000} s idle (/proc/<pid>/status)`, [
    ['process', 'VmRSS MB', 'VmHWM (peak) MB', 'ratio to baseline'],
    ['ocelot up (Docker used if an engine answers)', fmt(def.rss), fmt(def.hwm), `${fmt(def.rss / base.rss, 2)}×`],
    ['ocelot up --no-docker', fmt(noDocker.rss), fmt(noDocker.hwm), `${fmt(noDocker.rss / base.rss, 2)}×`],
    ['baseline: bare node http server', fmt(base.rss), fmt(base.hwm), '1.00×'],
  ]);
  const worst = Math.max(def.rss, noDocker.rss);
  const figures = [
    {
      figure: 'Idle `ocelot up` RSS (3 s after ready; default / --no-docker)',
      goal: '< 100 MB',
      measured: `${fmt(def.rss, 0)} / ${fmt(noDocker.rss, 0)} MB`,
      baseline: `bare node http server ${fmt(base.rss, 0)} MB`,
      ratio: `${fmt(def.rss / base.rss, 2)}×`,
      ok: worst < 100,
      command: 'node bench/idle-rss.mjs',
    },
  ];
  table('Idle RSS figure', [
    ['figure', 'goal', 'measured', 'ratio', 'meets goal'],
    ...figures.map((f) => [f.figure, f.goal, f.measured, f.ratio, f.ok ? 'yes' : 'NO']),
  ]);
  report('idle-rss', figures);
} catch (err) {
  console.error(`idle-rss bench failed: ${err instanceof Error ? err.stack : err}`);
  exitCode = 1;
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}
process.exit(exitCode);
