// Shared helpers of the benchmarks: the embedded `ocelot up` from dist/, a served test repository, signed GitHub
// push deliveries, percentiles, the printed table, and the result file run-all.mjs collects.
// Run `npm run build` first: everything Ocelot is imported from dist/, as a user would run it.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';

const dist = process.env.OCELOT_DIST ?? new URL('../dist/', import.meta.url).href;
const load = (p) => import(new URL(p, dist).href);

export const { startUp, defaultUpOptions } = await load('embedded/up.js');
export const { startGitHttpServer } = await load('devtools/git-http-server.js');
export const { createTestRepo, addCommit } = await load('devtools/test-repo.js');
export const { repointGithubPush } = await load('devtools/payloads.js');
export const { githubDeliveryHeaders } = await load('forges/github/sign.js');
export const { FINAL_BUILD_STATES } = await load('store/index.js');

const FINAL = new Set(FINAL_BUILD_STATES);

export function tempDir(prefix) {
  return fs.mkdtempSync(path.join(os.tmpdir(), `ocelot-bench-${prefix}-`));
}

/** `ocelot up` in this process: port 0 on loopback, a temp data dir, no Docker, nothing printed. */
export async function startEmbedded(dataDir, extra = {}) {
  return startUp(
    { ...defaultUpOptions(), port: 0, host: '127.0.0.1', dataDir, docker: false, quiet: true, ...extra },
    () => undefined,
  );
}

/** A repository with `files` under `<root>/bench/<name>.git`, served over git smart-HTTP. */
export async function servedRepo(root, name, files) {
  const repo = await createTestRepo(path.join(root, 'bench'), files, { name, message: 'bench pipeline' });
  const git = await startGitHttpServer({ root });
  return { repo, git, cloneUrl: `${git.url}/bench/${name}.git` };
}

let template;
/** A real GitHub push payload (octokit's recorded example) re-pointed at our repository and commit. */
export function pushPayload({ cloneUrl, repo, commit, branch = 'main', message = 'bench' }) {
  if (!template) {
    // Parsed and dropped (not require()d, which would keep the whole examples file in this process's memory).
    const require = createRequire(import.meta.url);
    const examples = JSON.parse(fs.readFileSync(require.resolve('@octokit/webhooks-examples/api.github.com/index.json'), 'utf8'));
    template = examples
      .find((e) => e.name === 'push')
      .examples.find((p) => String(p.ref).startsWith('refs/heads/') && p.commits.length > 0);
  }
  return repointGithubPush(template, {
    cloneUrl,
    account: 'bench',
    repo,
    branch,
    before: '0'.repeat(40),
    commits: [{ id: commit, message, modified: ['ocelot.yml'] }],
    sender: 'bench',
  });
}

export const keepAliveAgent = (sockets = 32) => new http.Agent({ keepAlive: true, maxSockets: sockets });

/** POST over node:http (keep-alive agent); resolves with status and parsed JSON answer. */
export function post(url, body, headers, agent) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers: { ...headers, 'content-length': Buffer.byteLength(body) }, agent }, (res) => {
      const parts = [];
      res.on('data', (d) => parts.push(d));
      res.on('end', () => {
        const text = Buffer.concat(parts).toString('utf8');
        let json = null;
        try {
          json = JSON.parse(text);
        } catch {
          /* not JSON */
        }
        resolve({ status: res.statusCode, json, text });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Deliver one signed GitHub push; returns the build id it queued. */
export async function deliverPush(up, payload, deliveryId, agent) {
  const body = JSON.stringify(payload);
  const res = await post(`${up.url}/hooks/github`, body, githubDeliveryHeaders('push', body, up.webhookSecret, deliveryId), agent);
  const id = res.json?.buildIds?.[0];
  if (res.status !== 202 || !id) throw new Error(`webhook answered ${res.status}: ${res.text}`);
  return id;
}

/** Wait (woken by the store's build activity, with a 50 ms fallback poll) until the build is final. */
export async function waitFinal(store, buildId, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let wake;
    const woken = new Promise((r) => (wake = r));
    const off = store.onBuildActivity(buildId, () => wake());
    const timer = setTimeout(() => wake(), 50);
    try {
      const b = await store.getBuild(buildId);
      if (b && FINAL.has(b.state)) return b;
      if (Date.now() > deadline) throw new Error(`build ${buildId} not final after ${timeoutMs} ms (state ${b?.state})`);
      await woken;
    } finally {
      off();
      clearTimeout(timer);
    }
  }
}

/** The stored log bytes of one stage, read back through the store in bounded batches (≤ 16 chunks = 4 MiB). */
export async function stageLog(store, buildId, attempt, ordinal, onChunk) {
  let seq = 0;
  let expectOffset = null;
  for (;;) {
    const chunks = await store.readLogs(buildId, attempt, seq, 16);
    if (chunks.length === 0) return;
    for (const c of chunks) {
      if (c.seq !== seq) throw new Error(`log of build ${buildId}: expected seq ${seq}, got ${c.seq}`);
      if (expectOffset !== null && c.offset !== expectOffset) throw new Error(`log of build ${buildId}: gap at seq ${seq}`);
      expectOffset = c.offset + c.data.byteLength;
      seq++;
      if (c.stageOrdinal === ordinal) onChunk(c);
    }
  }
}

/** Spawn and wait for exit; resolves with wall time in ms. */
export function timeSpawn(cmd, args, opts = {}) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { stdio: 'ignore', ...opts });
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      const ms = performance.now() - t0;
      if (code !== 0) reject(new Error(`${cmd} ${args.join(' ')} exited ${code ?? signal}`));
      else resolve(ms);
    });
  });
}

export function percentile(xs, p) {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const i = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[i];
}
export const median = (xs) => percentile(xs, 50);

export function fmt(n, digits = 1) {
  if (typeof n !== 'number') return String(n);
  if (!Number.isFinite(n)) return String(n);
  return n.toFixed(digits);
}

/** Print an aligned table: rows of arrays, first row the header. */
export function table(title, rows) {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  console.log(`\n${title}`);
  rows.forEach((r, n) => {
    console.log(`  ${r.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ')}`);
    if (n === 0) console.log(`  ${widths.map((w) => '-'.repeat(w)).join('  ')}`);
  });
}

/**
 * Figures for run-all.mjs (and the README): written to $OCELOT_BENCH_RESULTS/<name>.json when that is set.
 * Each figure: { figure, goal, measured, baseline, ratio, ok, command }.
 */
export function report(name, figures) {
  const dir = process.env.OCELOT_BENCH_RESULTS;
  if (!dir) return;
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, `${name}.json`), JSON.stringify({ name, figures }, null, 2));
}

/** Peak of process.memoryUsage().rss, sampled every `everyMs`. */
export function rssSampler(everyMs = 20) {
  let peak = process.memoryUsage().rss;
  let samples = 0;
  const timer = setInterval(() => {
    const rss = process.memoryUsage().rss;
    samples++;
    if (rss > peak) peak = rss;
  }, everyMs);
  return {
    reset() {
      peak = process.memoryUsage().rss;
      samples = 0;
    },
    get peak() {
      return peak;
    },
    get samples() {
      return samples;
    },
    stop() {
      clearInterval(timer);
    },
  };
}

export const MB = 1024 * 1024;
