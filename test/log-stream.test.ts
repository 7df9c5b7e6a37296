/**
 * Live logs, end to end: a real server (in-process `startUp`, real HTTP and SQLite), a real build whose stage
 * prints numbered lines for about two seconds, and readers that join at different moments: the real
 * `ocelot logs --follow`, SSE with a disconnect and a `Last-Event-ID` resume, and the `from=` position.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUp, defaultUpOptions, type RunningUp } from '../src/embedded/up.js';
import { startGitHttpServer, type GitHttpServer } from '../src/devtools/git-http-server.js';
import { addCommit, createTestRepo, type TestRepo } from '../src/devtools/test-repo.js';
import { ocelot } from './support/ocelot-process.js';
import { pushGithub, status, waitFinal } from './support/builds.js';

const LINES = 200;
const COUNTING = `buildTool: shell
stages:
  - name: count
    script:
      - for i in $(seq 1 ${LINES}); do echo line $i; sleep 0.01; done
  - name: after
    script: ["echo finished counting"]
`;

/** The numbers of the `line N` lines, in the order they appear. */
function numbered(text: string): number[] {
  return [...text.matchAll(/^line (\d+)$/gm)].map((m) => Number(m[1]));
}
const ALL = Array.from({ length: LINES }, (_, i) => i + 1);

interface SseEvent {
  id?: string;
  event?: string;
  data?: string;
}

/**
 * Reads an SSE stream until `stopWhen` says so (then disconnects) or the server ends it. Returns the events
 * seen, in order (keep-alive comments dropped).
 */
async function readSse(url: string, headers: Record<string, string>, stopWhen: (events: SseEvent[]) => boolean = () => false): Promise<{ events: SseEvent[]; ended: boolean }> {
  const controller = new AbortController();
  const res = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: controller.signal });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  const events: SseEvent[] = [];
  let buf = '';
  for (;;) {
    let r: ReadableStreamReadResult<Uint8Array>;
    try {
      r = await reader.read();
    } catch (err) {
      if (controller.signal.aborted) return { events, ended: false };
      throw err;
    }
    if (r.done) return { events, ended: true };
    buf += decoder.decode(r.value, { stream: true });
    let at: number;
    while ((at = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, at);
      buf = buf.slice(at + 2);
      const ev: SseEvent = {};
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = line.slice(0, colon);
        const value = line.slice(colon + 1).replace(/^ /, '');
        if (field === 'id' || field === 'event') ev[field] = value;
        if (field === 'data') ev.data = ev.data === undefined ? value : `${ev.data}\n${value}`;
      }
      if (Object.keys(ev).length === 0) continue;
      events.push(ev);
      if (stopWhen(events)) {
        controller.abort();
        await reader.cancel().catch(() => undefined);
        return { events, ended: false };
      }
    }
  }
}

const logEvents = (events: SseEvent[]) => events.filter((e) => e.event === 'log');
const textOf = (events: SseEvent[]) => logEvents(events).map((e) => JSON.parse(e.data!) as string).join('');

describe('live logs', () => {
  let tmp: string;
  let git: GitHttpServer;
  let up: RunningUp;
  let repo: TestRepo;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ocelot-logs-'));
    repo = await createTestRepo(path.join(tmp, 'git', 'acme'), { 'ocelot.yml': COUNTING }, { name: 'counter' });
    git = await startGitHttpServer({ root: path.join(tmp, 'git') });
    up = await startUp(
      { ...defaultUpOptions(), port: 0, host: '127.0.0.1', dataDir: path.join(tmp, 'data'), docker: false, slots: 2, quiet: true },
      () => {},
    );
    env = { OCELOT_SERVER: up.url, OCELOT_TOKEN: up.adminToken, NO_COLOR: '1' };
  });
  afterAll(async () => {
    await up?.stop();
    await git?.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  let n = 0;
  /** A new commit (so each test has its own build) and its webhook; returns the build id. */
  async function startBuild(): Promise<number> {
    await addCommit(repo, { 'ocelot.yml': COUNTING, 'n.txt': `${++n}\n` }, { message: `count ${n}` });
    return pushGithub({ server: up.url, secret: up.webhookSecret, gitUrl: git.url, repo, account: 'acme', name: 'counter' });
  }

  it('ocelot logs --follow from the start gets every line once, in order, and exits when the build ends', async () => {
    const id = await startBuild();
    const follow = await ocelot(['logs', String(id), '--follow'], env);
    expect(follow.code, follow.stderr).toBe(0);
    // It ended because the build did: the build is final now, and its last stage's output is there.
    const s = await status(id, env);
    expect(s.build.state, s.build.reason ?? '').toBe('PASSED');
    expect(numbered(follow.stdout)).toEqual(ALL);
    expect(follow.stdout).toContain('finished counting');
    expect(follow.stdout.indexOf(`line ${LINES}\n`)).toBeLessThan(follow.stdout.indexOf('finished counting'));
    // Same bytes as the stored log read afterwards.
    const stored = await ocelot(['logs', String(id)], env);
    expect(follow.stdout).toBe(stored.stdout);
  });

  it('a reader joining in the middle gets everything from the start, then follows to the end', async () => {
    const id = await startBuild();
    // Wait until the stage is well under way (about a second of output) but not done.
    let snapshot = '';
    const deadline = Date.now() + 20_000;
    for (;;) {
      snapshot = (await ocelot(['logs', String(id)], env)).stdout;
      if (numbered(snapshot).length >= 40) break;
      if (Date.now() > deadline) throw new Error(`the count never got going: ${snapshot}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const late = ocelot(['logs', String(id), '--follow'], env);
    expect(numbered(snapshot).length).toBeLessThan(LINES); // it really joined in the middle
    // The same over the raw chunked API from this process, which certainly connects while the stage runs.
    const raw = await fetch(`${up.url}/api/v1/builds/${id}/logs?follow=1`);
    expect((await up.store.getBuild(id))!.state).toBe('RUNNING');
    const rawText = await raw.text();
    expect(numbered(rawText)).toEqual(ALL);
    expect(rawText.startsWith(snapshot)).toBe(true);
    const r = await late;
    expect(r.code, r.stderr).toBe(0);
    expect(numbered(r.stdout)).toEqual(ALL);
    expect(r.stdout.startsWith(snapshot)).toBe(true); // what was there when it joined, then the rest
    expect(r.stdout).toContain('finished counting');
    expect((await status(id, env)).build.state).toBe('PASSED');
  });

  it('SSE: ids are attempt:seq; a reader that disconnects half-way and resumes with Last-Event-ID misses nothing and repeats nothing', async () => {
    const id = await startBuild();
    const url = `${up.url}/api/v1/builds/${id}/logs?follow=1`;
    const first = await readSse(url, {}, (events) => numbered(textOf(events)).length >= LINES / 2);
    expect(first.ended).toBe(false);
    const firstLogs = logEvents(first.events);
    const lastId = firstLogs[firstLogs.length - 1]!.id!;
    expect(lastId).toMatch(/^1:\d+$/);
    // Half-way really was before the end.
    expect(numbered(textOf(first.events)).length).toBeLessThan(LINES);
    expect((await up.store.getBuild(id))!.state).toBe('RUNNING'); // so the resumed reader follows a live build

    const second = await readSse(url, { 'last-event-id': lastId });
    expect(second.ended).toBe(true);
    const end = second.events[second.events.length - 1]!;
    expect(end.event).toBe('end');
    expect(JSON.parse(end.data!)).toMatchObject({ state: 'PASSED' });

    // Ids: attempt 1, seq 0, 1, 2, ... with no gap and no repeat across the two connections.
    const ids = [...firstLogs, ...logEvents(second.events)].map((e) => e.id!);
    expect(ids.every((x) => x.startsWith('1:'))).toBe(true);
    expect(ids.map((x) => Number(x.slice(2)))).toEqual(ids.map((_, i) => i));

    const text = textOf(first.events) + textOf(second.events);
    expect(numbered(text)).toEqual(ALL);
    expect(text).toContain('finished counting');
    const stored = await ocelot(['logs', String(id)], env);
    expect(text).toBe(stored.stdout);
  });

  it('from= starts at that chunk (raw and SSE); a reader past the end gets nothing', async () => {
    const id = await startBuild();
    await waitFinal(id, env);
    const whole = await readSse(`${up.url}/api/v1/builds/${id}/logs`, {});
    const chunks = logEvents(whole.events).map((e) => ({ seq: Number(e.id!.split(':')[1]), text: JSON.parse(e.data!) as string }));
    expect(chunks.length).toBeGreaterThan(4);
    const k = Math.floor(chunks.length / 2);
    const expected = chunks.slice(k).map((c) => c.text).join('');

    const raw = await fetch(`${up.url}/api/v1/builds/${id}/logs?from=${k}`);
    expect(raw.status).toBe(200);
    expect(await raw.text()).toBe(expected);
    const rawAll = await fetch(`${up.url}/api/v1/builds/${id}/logs?from=0`);
    expect(await rawAll.text()).toBe(chunks.map((c) => c.text).join(''));

    const sse = await readSse(`${up.url}/api/v1/builds/${id}/logs?from=${k}`, {});
    expect(logEvents(sse.events)[0]!.id).toBe(`1:${k}`);
    expect(textOf(sse.events)).toBe(expected);

    const past = await fetch(`${up.url}/api/v1/builds/${id}/logs?from=${chunks.length + 10}`);
    expect(past.status).toBe(200);
    expect(await past.text()).toBe('');
    // Following a finished build from the middle ends at once too.
    const followed = await fetch(`${up.url}/api/v1/builds/${id}/logs?from=${k}&follow=1`);
    expect(await followed.text()).toBe(expected);
  });

  it('logs of a build that does not exist: a clear message, non-zero', async () => {
    const r = await ocelot(['logs', '987654', '--follow'], env);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/build 987654 does not exist/);
  });
});
