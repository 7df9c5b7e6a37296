/**
 * The CLI's log follow (src/cli/follow-logs.ts) against the server's real log stream (src/server/log-stream.ts)
 * over real HTTP, with a real store (SQLite in a temp file) whose build log grows, one reported chunk at a time,
 * while the test drops connections, takes the server away and brings it back. Every byte must come out once, in
 * order — also a character whose bytes two chunks share — and a server that stays away must end the follow with
 * one clear error. (The same with real `ocelot server` processes: e2e-dist-follow-restart.test.ts.)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiClient, ApiError } from '../src/cli/api-client.js';
import { followLogs } from '../src/cli/follow-logs.js';
import { streamLogs } from '../src/server/log-stream.js';
import { createStore } from '../src/store/create-store.js';
import type { Store } from '../src/store/store.js';
import type { Lease } from '../src/werker/protocol.js';

const stores: Store[] = [];
const tmpDirs: string[] = [];

/**
 * A running build in a real store (SQLite in a temp file): created, claimed by a registered werker, its log
 * written the way a werker writes it — one report per chunk, consecutive seqs, offsets counting the bytes before.
 */
async function runningBuild() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ocelot-follow-'));
  tmpDirs.push(dir);
  const store = await createStore({ url: `sqlite:${path.join(dir, 'ocelot.db')}` });
  stores.push(store);
  const build = await store.createBuild({
    forge: 'github',
    kind: 'push',
    account: 'acme',
    repo: 'app',
    cloneUrl: 'https://git.example/acme/app.git',
    commit: 'a'.repeat(40),
    branch: 'main',
    commitMessages: ['change'],
    changedFiles: ['src/a.ts'],
    sender: 'alice',
  });
  const w = { id: 'w1', name: 'w1-name', tags: [], runtimes: ['host'], slots: 1, version: 'test' };
  await store.registerWerker(w);
  const claim = await store.claimNext(w, 10 * 60_000);
  if (claim?.buildId !== build.id) throw new Error('the build was not claimed');
  const lease: Lease = claim.lease;
  let seq = 0;
  let offset = 0;
  return {
    store,
    buildId: build.id,
    async append(data: Uint8Array) {
      await store.report(lease, { chunks: [{ seq: seq++, stageOrdinal: 0, offset, data }] });
      offset += data.byteLength;
    },
    async finish() {
      await store.report(lease, { finish: { state: 'PASSED', reason: null } });
    },
  };
}

const apps: FastifyInstance[] = [];
const servers: http.Server[] = [];
afterEach(async () => {
  for (const a of apps.splice(0)) await a.close();
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
  for (const s of stores.splice(0)) await s.close();
  for (const d of tmpDirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** The log route alone, as the API serves it; remembers the Last-Event-ID of each request. */
async function logServer(store: Store, resumes: string[], port = 0): Promise<{ app: FastifyInstance; url: string }> {
  const app = Fastify({ logger: false, forceCloseConnections: true });
  app.get<{ Params: { id: string }; Querystring: { attempt?: string; from?: string; follow?: string } }>('/api/v1/builds/:id/logs', (req, reply) => {
    resumes.push(String(req.headers['last-event-id'] ?? ''));
    return streamLogs(store, req, reply);
  });
  await app.listen({ port, host: '127.0.0.1' });
  apps.push(app);
  return { app, url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}` };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function follow(url: string, buildId: number, opts: { giveUpMs?: number; idleMs?: number } = {}) {
  let text = '';
  const notices: string[] = [];
  const done = followLogs(new ApiClient(url, undefined), buildId, {
    write: (t) => void (text += t),
    notice: (l) => notices.push(l),
    maxDelayMs: 100,
    ...opts,
  });
  return { done, text: () => text, notices };
}

describe('ocelot logs --follow: reconnects and resumes', () => {
  it('connections dropped and the server away and back: every byte once, in order, also characters split between chunks', async () => {
    const log = await runningBuild();
    const resumes: string[] = [];
    let { app, url } = await logServer(log.store, resumes);
    const port = Number(new URL(url).port);
    const f = follow(url, log.buildId);
    const enc = new TextEncoder();
    let expected = '';
    for (let i = 1; i <= 120; i++) {
      // Each line in two chunks, the cut inside the 3-byte ✓: the resumed stream must complete that character.
      const line = `line ${i} ✓ ünï\n`;
      expected += line;
      const bytes = enc.encode(line);
      const cut = bytes.indexOf(0xe2) + 1;
      await log.append(bytes.subarray(0, cut));
      await sleep(5);
      // The drops come between the two halves of a character, the hardest place to resume from.
      if (i % 30 === 0) app.server.closeAllConnections(); // connection reset under the reader
      if (i === 75) {
        // The server goes away (connection refused for a while), then a new one answers on the same port.
        await app.close();
        await sleep(400);
        ({ app } = await logServer(log.store, resumes, port));
      }
      await log.append(bytes.subarray(cut));
      await sleep(5);
    }
    await log.finish();
    await f.done;
    expect(f.text()).toBe(expected);
    // It resumed with the id of the last event it had, more than once.
    expect(resumes.filter((r) => /^1:\d+$/.test(r)).length).toBeGreaterThanOrEqual(3);
    expect(f.notices.some((n) => new RegExp(`lost the log stream of build ${log.buildId} \\(.+\\); reconnecting to http://127\\.0\\.0\\.1:\\d+`).test(n))).toBe(true);
    expect(f.notices.some((n) => n.includes(`log stream of build ${log.buildId} is back`))).toBe(true);
    expect(f.notices.every((n) => !n.includes('\n'))).toBe(true);
  });

  it('a server that stays away: one notice, then one clear error after the give-up time', async () => {
    const log = await runningBuild();
    const { app, url } = await logServer(log.store, []);
    await log.append(new TextEncoder().encode('before\n'));
    const f = follow(url, log.buildId, { giveUpMs: 700 });
    while (f.text() === '') await sleep(10);
    const t0 = Date.now();
    await app.close();
    const err = await f.done.then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).message).toMatch(new RegExp(`^gave up following build ${log.buildId}: no answer from http://127\\.0\\.0\\.1:\\d+ for \\d+ s \\(.*ECONNREFUSED.*\\)$`));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(650);
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(f.text()).toBe('before\n');
    expect(f.notices).toHaveLength(1);
  });

  it('a refusal that another try cannot fix (the build is gone: 404) ends the follow at once', async () => {
    const log = await runningBuild();
    const { app, url } = await logServer(log.store, []);
    const f = follow(url, log.buildId, { giveUpMs: 30_000 });
    await sleep(100);
    await app.close();
    const port = Number(new URL(url).port);
    const other = Fastify({ logger: false });
    other.get('/api/v1/builds/:id/logs', async (_req, reply) => reply.code(404).send({ error: 'not_found', reason: `build ${log.buildId} does not exist` }));
    await other.listen({ port, host: '127.0.0.1' });
    apps.push(other);
    const err = await f.done.then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(404);
  });

  it('a connection that hangs without closing is given up and replaced', async () => {
    let n = 0;
    const server = http.createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'x-ocelot-attempt': '1' });
      if (++n === 1) {
        res.write('id: 1:0\nevent: log\ndata: "one\\n"\n\n'); // then nothing, connection left open
        return;
      }
      expect(req.headers['last-event-id']).toBe('1:0');
      res.end('id: 1:1\nevent: log\ndata: "two\\n"\n\nevent: end\ndata: {"state":"PASSED"}\n\n');
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const f = follow(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, 1, { idleMs: 300 });
    await f.done;
    expect(f.text()).toBe('one\ntwo\n');
    expect(n).toBe(2);
    expect(f.notices[0]).toMatch(/no answer for/);
    server.closeAllConnections();
  });
});
