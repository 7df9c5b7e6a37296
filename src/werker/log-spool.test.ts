import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHostRuntime } from '../runtimes/host/index.js';
import type { RuntimeSession, StageOutput, StageRun } from '../runtimes/runtime.js';
import { LogSpool, MAX_CHUNK_BYTES } from './log-spool.js';
import { LeaseLostError, type LogChunk } from './protocol.js';

let dir: string;
let spoolFile: string;
const spools: LogSpool[] = [];

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocelot-spool-'));
  spoolFile = path.join(dir, 'logs', '7', '1.log'); // directories do not exist yet: the spool creates them
});

afterEach(async () => {
  for (const s of spools.splice(0)) await s.close().catch(() => undefined);
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A receiver like the server: keeps what it acknowledged, checks seq and offsets as it goes. */
function receiver() {
  const chunks: LogChunk[] = [];
  return {
    chunks,
    accept(batch: LogChunk[]) {
      for (const c of batch) {
        const prev = chunks[chunks.length - 1];
        expect(c.seq).toBe(chunks.length);
        expect(c.offset).toBe(prev ? prev.offset + prev.data.byteLength : c.offset);
        expect(c.data.byteLength).toBeGreaterThan(0);
        expect(c.data.byteLength).toBeLessThanOrEqual(MAX_CHUNK_BYTES);
        chunks.push(c);
      }
    },
    text(stage?: number) {
      return Buffer.concat(chunks.filter((c) => stage === undefined || c.stageOrdinal === stage).map((c) => c.data)).toString();
    },
  };
}

function open(onChunks: (c: LogChunk[]) => Promise<void>, extra: Partial<ConstructorParameters<typeof LogSpool>[1]> = {}) {
  const spool = new LogSpool(spoolFile, { onChunks, ...extra });
  spools.push(spool);
  return spool;
}

async function hostSession(): Promise<RuntimeSession> {
  const ws = path.join(dir, 'ws');
  fs.mkdirSync(ws, { recursive: true });
  return createHostRuntime().prepare({ buildId: 7, attempt: 1, werkerId: 'w', workspaceHostPath: ws }, { fd: 1, write() {} }, new AbortController().signal);
}

function stage(script: string[], output: StageOutput): StageRun {
  return { name: 's', script, env: [], timeoutMs: 60_000, killGraceMs: 1_000, output, signal: new AbortController().signal };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('LogSpool', () => {
  it('delivers 1,000,000 lines of `seq` complete, in order, with gap-free seq', async () => {
    const rx = receiver();
    const spool = open(async (b) => rx.accept(b));
    const session = await hostSession();
    spool.setStage(3);

    const t0 = performance.now();
    const r = await session.runStage(stage(['seq 1 1000000'], spool.output(3)));
    await spool.drain();
    const ours = performance.now() - t0;
    expect(r.state).toBe('PASSED');

    const b0 = performance.now();
    execFileSync('bash', ['-c', 'seq 1 1000000 > /dev/null']);
    const baseline = performance.now() - b0;
    console.log(`spool: seq 1 1000000 stored and chunked in ${ours.toFixed(0)} ms (${rx.chunks.length} chunks), to /dev/null ${baseline.toFixed(0)} ms`);

    const text = rx.text();
    let expected = '';
    for (let i = 1; i <= 1_000_000; i++) expected += `${i}\n`;
    expect(text.length).toBe(expected.length);
    expect(text === expected).toBe(true);
    expect(rx.chunks.every((c) => c.stageOrdinal === 3)).toBe(true);
    expect(rx.chunks.length).toBeLessThan(100); // collected in large chunks, not chased write by write
  });

  it('keeps stdout and stderr interleaved as written', async () => {
    const rx = receiver();
    const spool = open(async (b) => rx.accept(b));
    const session = await hostSession();
    const r = await session.runStage(stage(['for i in $(seq 1 2000); do echo "out $i"; echo "err $i" >&2; done'], spool.output(0)));
    expect(r.state).toBe('PASSED');
    await spool.drain();
    let expected = '';
    for (let i = 1; i <= 2000; i++) expected += `out ${i}\nerr ${i}\n`;
    expect(rx.text()).toBe(expected);
  });

  it('attributes bytes to stages by setStage() boundaries, also when nothing drained in between', async () => {
    const rx = receiver();
    const spool = open(async (b) => {
      await sleep(5);
      rx.accept(b);
    });
    const session = await hostSession();
    spool.output(0).write('cloning\n');
    spool.setStage(1);
    spool.output(1).write('valid\n');
    spool.setStage(2); // stage 2 writes nothing
    spool.setStage(3);
    await session.runStage(stage(['seq 1 100000', 'echo to-stderr >&2'], spool.output(3)));
    spool.setStage(4);
    await session.runStage(stage(['echo four'], spool.output(4)));
    await spool.drain();
    expect(rx.text(0)).toBe('cloning\n');
    expect(rx.text(1)).toBe('valid\n');
    expect(rx.text(2)).toBe('');
    expect(rx.text(3)).toMatch(/^1\n2\n[\s\S]*\n100000\nto-stderr\n$/);
    expect(rx.text(4)).toBe('four\n');
    expect(rx.chunks.map((c) => c.stageOrdinal)).toEqual([...rx.chunks.map((c) => c.stageOrdinal)].sort((a, b) => a - b));
  });

  it('a slow and failing receiver loses nothing: the same chunks are offered again', async () => {
    const rx = receiver();
    let calls = 0;
    let inFlight = 0;
    const spool = open(
      async (b) => {
        inFlight++;
        expect(inFlight).toBe(1); // one call at a time
        await sleep(15);
        inFlight--;
        if (++calls % 3 === 0) throw new Error('server hiccup');
        rx.accept(b);
      },
      { retryInitialMs: 5, maxChunksPerCall: 2 },
    );
    const session = await hostSession();
    await session.runStage(stage(['seq 1 300000', 'head -c 3000000 /dev/zero | tr "\\0" x', 'echo end'], spool.output(0)));
    await spool.drain();
    let expected = '';
    for (let i = 1; i <= 300000; i++) expected += `${i}\n`;
    expected += 'x'.repeat(3_000_000) + 'end\n';
    expect(rx.text() === expected).toBe(true);
    expect(calls).toBeGreaterThan(rx.chunks.length / 2);
  });

  it('gives up after bounded retries, reports it, and a later drain() resumes without loss', async () => {
    const rx = receiver();
    let down = true;
    const errors: unknown[] = [];
    const spool = open(
      async (b) => {
        if (down) throw new Error('server down');
        rx.accept(b);
      },
      { maxRetries: 3, retryInitialMs: 5, onError: (e) => errors.push(e) },
    );
    spool.output(0).write('line 1\n');
    await expect(spool.drain()).rejects.toThrow('server down');
    expect(errors).toHaveLength(1);
    spool.output(0).write('line 2\n');
    down = false;
    await spool.drain();
    expect(rx.text()).toBe('line 1\nline 2\n');
    expect(rx.chunks[0]!.seq).toBe(0);
  });

  it('does not retry when the lease is lost', async () => {
    let calls = 0;
    const spool = open(
      async () => {
        calls++;
        throw new LeaseLostError('lease gone');
      },
      { retryInitialMs: 5 },
    );
    spool.output(0).write('x\n');
    await expect(spool.drain()).rejects.toThrow('lease gone');
    expect(calls).toBe(1);
  });

  it('shows live output to followers while the stage still runs, without any drain()', async () => {
    const seen: Array<{ at: number; text: string }> = [];
    const spool = open(async (b) => {
      for (const c of b) seen.push({ at: performance.now(), text: Buffer.from(c.data).toString() });
    });
    const session = await hostSession();
    const running = session.runStage(stage(['echo first', 'sleep 0.4', 'echo second'], spool.output(0)));
    const t0 = performance.now();
    while (!seen.some((s) => s.text.includes('first')) && performance.now() - t0 < 5000) await sleep(2);
    // 'first' arrived before the stage ended (it sleeps 0.4 s before 'second'): the tail is live, not end-of-stage.
    expect(seen.some((s) => s.text.includes('first'))).toBe(true);
    expect(seen.some((s) => s.text.includes('second'))).toBe(false);
    await running;
  });

  it('continues an existing file at its end and refuses writes after close()', async () => {
    fs.mkdirSync(path.dirname(spoolFile), { recursive: true });
    fs.writeFileSync(spoolFile, 'old content\n');
    const rx = receiver();
    const spool = open(async (b) => rx.accept(b));
    spool.output(0).write('new\n');
    await spool.close();
    expect(rx.chunks[0]).toMatchObject({ seq: 0, offset: 12 });
    expect(rx.text()).toBe('new\n');
    expect(fs.readFileSync(spoolFile, 'utf8')).toBe('old content\nnew\n');
    expect(() => spool.output(0).write('late\n')).toThrow(/closed/);
    await spool.close(); // twice is fine
  });
});

describe('index-only spool (embedded: the spool is the store log file)', () => {
  it('indexes a 1M-line stage by offsets alone: contiguous, gap-free, stage-attributed, nothing read back', async () => {
    const chunks: LogChunk[] = [];
    const spool = open(async (batch) => void chunks.push(...batch), { indexOnly: true });
    spool.setStage(0);
    spool.output(0).write('setup line\n');
    spool.setStage(2);
    const session = await hostSession();
    const r = await session.runStage(stage(['seq 1 1000000'], spool.output(2)));
    expect(r.state).toBe('PASSED');
    await spool.drain();
    const size = fs.statSync(spoolFile).size;
    let offset = 0;
    chunks.forEach((c, i) => {
      expect(c.seq).toBe(i);
      expect(c.data.byteLength).toBe(0);
      expect(c.offset).toBe(offset);
      expect(c.length).toBeGreaterThan(0);
      expect(c.length).toBeLessThanOrEqual(MAX_CHUNK_BYTES);
      offset += c.length!;
    });
    expect(offset).toBe(size);
    // Stage attribution by the boundary: the first chunk is exactly the setup line.
    expect(chunks[0]).toMatchObject({ stageOrdinal: 0, offset: 0, length: 'setup line\n'.length });
    expect(chunks.slice(1).every((c) => c.stageOrdinal === 2)).toBe(true);
    const text = fs.readFileSync(spoolFile, 'utf8').slice('setup line\n'.length);
    const lines = text.trimEnd().split('\n');
    expect(lines.length).toBe(1_000_000);
    expect(lines[999_999]).toBe('1000000');
  });
});
