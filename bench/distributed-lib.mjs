// Shared helpers of the distributed benchmarks: a throwaway PostgreSQL database (127.0.0.1:5432, as the tests
// use), `ocelot server --database postgres://…` and `ocelot werker` as real child processes of bin/ocelot.js
// (dist/), werker tokens from the admin API, build status over the API. Run `npm run build` first.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const dist = process.env.OCELOT_DIST ?? new URL('../dist/', import.meta.url).href;
export const { testDatabase } = await import(new URL('store/pg-test-db.js', dist).href);
export const BIN = fileURLToPath(new URL('../bin/ocelot.js', import.meta.url));

const SECRET = 'bench-webhook-secret';
const ADMIN = 'bench-admin-token';

/** A child `ocelot <args>`; resolves once its output matches `ready` (first group, or the match). */
export async function startOcelot(args, env, ready, timeoutMs = 20_000) {
  // OCELOT_BENCH_NODE_ARGS: extra node flags for the ocelot processes, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
  const nodeArgs = (process.env.OCELOT_BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const matched = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`ocelot ${args[0]} did not start:\n${out}`)), timeoutMs);
    const check = () => {
      const m = ready.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1] ?? m[0]);
      }
    };
    child.stdout.on('data', (d) => ((out += d), check()));
    child.stderr.on('data', (d) => ((out += d), check()));
    child.once('exit', (code) => reject(new Error(`ocelot ${args[0]} exited ${code}:\n${out}`)));
  });
  return {
    child,
    matched,
    output: () => out,
    stop: (signal = 'SIGTERM') =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode);
        child.once('exit', (code) => resolve(code));
        child.kill(signal);
      }),
  };
}

/**
 * One database, one `ocelot server` on it. `url` and `webhookSecret` make it usable with lib.mjs's deliverPush.
 */
export async function startDistributed(tmp, { leaseMs = 15_000 } = {}) {
  const db = testDatabase();
  await db.create();
  const werkers = [];
  let server;
  try {
    server = await startOcelot(
      ['server', '--database', db.url, '--host', '127.0.0.1', '--port', '0', '--data-dir', path.join(tmp, 'server')],
      { OCELOT_WEBHOOK_SECRET: SECRET, OCELOT_ADMIN_TOKEN: ADMIN, OCELOT_LEASE_MS: String(leaseMs) },
      /listening at (http:\/\/\S+)/,
    );
  } catch (err) {
    await db.drop().catch(() => undefined);
    throw err;
  }
  const url = server.matched;
  const api = async (method, route, body) => {
    const res = await fetch(`${url}${route}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    if (!res.ok) throw new Error(`${method} ${route}: ${res.status} ${await res.text()}`);
    return res.headers.get('content-type')?.includes('json') ? res.json() : res.text();
  };
  let n = 0;
  return {
    db,
    server,
    url,
    webhookSecret: SECRET,
    api,
    werkers,
    /** A werker process with its own token and work dir; resolves once it has registered. */
    async startWerker(name, { slots = 1, env = {} } = {}) {
      const { token } = await api('POST', '/api/v1/werker-tokens', { name: `${name}-${++n}` });
      const w = await startOcelot(
        ['werker', '--server', url, '--token', token, '--name', name, '--work-dir', path.join(tmp, `werker-${name}-${n}`), '--no-docker', '--slots', String(slots)],
        { OCELOT_LEASE_MS: '', OCELOT_TOKEN: '', OCELOT_SERVER: '', ...env },
        new RegExp(`werker ${name} \\(`),
      );
      werkers.push(w);
      return w;
    },
    /** GET /api/v1/builds/:id every `everyMs` until `done(view)`. */
    async waitBuild(id, done, timeoutMs = 60_000, everyMs = 10) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const view = await api('GET', `/api/v1/builds/${id}`);
        if (done(view)) return view;
        if (Date.now() > deadline) throw new Error(`build ${id}: ${JSON.stringify(view.build)}\n${server.output()}`);
        await new Promise((r) => setTimeout(r, everyMs));
      }
    },
    async close() {
      // SIGKILL: fast and final; a profiling run (OCELOT_BENCH_NODE_ARGS) stops them gracefully so profiles get written.
      const signal = process.env.OCELOT_BENCH_NODE_ARGS ? 'SIGTERM' : 'SIGKILL';
      for (const w of werkers) await w.stop(signal);
      await server.stop(signal);
      await db.drop().catch(() => undefined);
      fs.rmSync(tmp, { recursive: true, force: true });
    },
  };
}

export const isFinal = (view) => !['QUEUED', 'RUNNING'].includes(view.build.state);
