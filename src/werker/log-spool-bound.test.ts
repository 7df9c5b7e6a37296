/**
 * The spool while the server is away: delivery that gave up after its retries starts over by itself (no drain
 * needed) once the server answers again, and output that piles up unacknowledged past the bound is reported
 * once, while every byte still reaches the server later, in order, once.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LogSpool } from './log-spool.js';
import type { LogChunk } from './protocol.js';

let dir: string;
let spool: LogSpool | undefined;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocelot-spool-bound-'));
});
afterEach(async () => {
  await spool?.close().catch(() => undefined);
  spool = undefined;
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A server that can be down: refuses every batch while `up` is false, stores idempotently by seq when up. */
function server() {
  const bySeq = new Map<number, LogChunk>();
  const s = {
    up: false,
    refused: 0,
    async accept(batch: LogChunk[]) {
      if (!s.up) {
        s.refused++;
        throw new Error('connect ECONNREFUSED');
      }
      for (const c of batch) bySeq.set(c.seq, c);
    },
    text() {
      const seqs = [...bySeq.keys()].sort((a, b) => a - b);
      expect(seqs).toEqual(seqs.map((_, i) => i));
      return Buffer.concat(seqs.map((q) => bySeq.get(q)!.data)).toString('utf8');
    },
  };
  return s;
}

async function until(probe: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('LogSpool while the server is unreachable', () => {
  it('after giving up, delivery resumes by itself once the server is back: nothing lost, nothing twice', async () => {
    const srv = server();
    const errors: unknown[] = [];
    spool = new LogSpool(path.join(dir, '1.log'), {
      onChunks: (b) => srv.accept(b),
      onError: (e) => errors.push(e),
      maxRetries: 2,
      retryInitialMs: 5,
      retryMaxMs: 100,
      pollMs: 10,
    });
    const out = spool.output(0);
    const expected: string[] = [];
    for (let i = 1; i <= 50; i++) {
      out.write(`line ${i}\n`);
      expected.push(`line ${i}\n`);
    }
    await until(() => errors.length >= 2, 5_000, 'the spool to give up (twice)');
    srv.up = true;
    for (let i = 51; i <= 60; i++) {
      out.write(`line ${i}\n`);
      expected.push(`line ${i}\n`);
    }
    // No drain: the live stream itself must catch up.
    await until(() => srv.text() === expected.join(''), 5_000, 'delivery to resume');
    await spool.drain();
    expect(srv.text()).toBe(expected.join(''));
  });

  it('past the bound of unacknowledged bytes it reports once; a later drain still delivers every byte', async () => {
    const srv = server();
    const overflows: string[] = [];
    spool = new LogSpool(path.join(dir, '2.log'), {
      onChunks: (b) => srv.accept(b),
      onOverflow: (m) => overflows.push(m),
      maxUnackedBytes: 64 * 1024,
      maxRetries: 1_000,
      retryInitialMs: 5,
      retryMaxMs: 20,
      pollMs: 10,
    });
    const out = spool.output(0);
    const block = `${'x'.repeat(1023)}\n`;
    for (let i = 0; i < 48; i++) out.write(block);
    await new Promise((r) => setTimeout(r, 150));
    expect(overflows).toEqual([]); // 48 KiB: under the bound
    for (let i = 0; i < 48; i++) out.write(block);
    await until(() => overflows.length > 0, 5_000, 'the overflow report');
    expect(overflows[0]).toMatch(/log shipping failed: the server has not acknowledged log output since .* 0 MiB are waiting.*limit 0 MiB, OCELOT_SPOOL_MAX_MB/);
    out.write(block);
    await new Promise((r) => setTimeout(r, 100));
    expect(overflows.length).toBe(1);

    srv.up = true;
    await spool.drain();
    expect(srv.text()).toBe(block.repeat(97));
  });
});
