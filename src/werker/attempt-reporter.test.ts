import { describe, expect, it } from 'vitest';
import { AttemptReporter, MAX_HELD_BYTES } from './attempt-reporter.js';
import { LeaseLostError, type AttemptReport, type LogChunk, type StageRecord } from './protocol.js';

const stage = (ordinal: number, state: StageRecord['state']): StageRecord => ({ ordinal, name: `s${ordinal}`, kind: 'user', state });
const chunk = (seq: number, bytes = 4): LogChunk => ({ seq, stageOrdinal: 0, offset: seq * bytes, data: new Uint8Array(bytes) });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A `send` that records every report and can be told to fail, or to hold its answer until released. */
function recorder() {
  const sent: AttemptReport[] = [];
  let failWith: unknown = null;
  let gate: Promise<void> | null = null;
  return {
    sent,
    failNext(err: unknown) {
      failWith = err;
    },
    hold() {
      let release!: () => void;
      gate = new Promise<void>((r) => (release = r));
      return () => {
        gate = null;
        release();
      };
    },
    async send(r: AttemptReport) {
      sent.push(r);
      if (gate) await gate;
      if (failWith) {
        const err = failWith;
        failWith = null;
        throw err;
      }
    },
  };
}

describe('AttemptReporter', () => {
  it('batches stage changes within the linger: the newest record of each stage, in one report', async () => {
    const rec = recorder();
    const r = new AttemptReporter({ send: rec.send, onLost: () => undefined, lingerMs: 30 });
    r.stage(stage(0, 'RUNNING'));
    r.stage(stage(1, 'PENDING'));
    r.stage(stage(0, 'PASSED'));
    expect(rec.sent).toHaveLength(0);
    await sleep(80);
    expect(rec.sent).toEqual([{ stages: [stage(0, 'PASSED'), stage(1, 'PENDING')] }]);
  });

  it('the result carries what is pending, held log chunks included, in one final report', async () => {
    const rec = recorder();
    const r = new AttemptReporter({ send: rec.send, onLost: () => undefined, lingerMs: 10_000 });
    r.stage(stage(0, 'RUNNING'));
    const acked = r.deliverChunks([chunk(0)]);
    r.holdForResult();
    // After the hold, chunks are taken at once, those given before it included: the spool's drain waits for
    // them, and only then comes the result.
    await acked;
    await r.deliverChunks([chunk(1)]);
    r.stage(stage(0, 'PASSED'));
    await r.finish('PASSED', null);
    expect(rec.sent).toEqual([{ stages: [stage(0, 'PASSED')], chunks: [chunk(0), chunk(1)], finish: { state: 'PASSED', reason: null } }]);
    // After the result there is nothing left to write to.
    await r.deliverChunks([chunk(2)]);
    r.stage(stage(1, 'FAILED'));
    await sleep(20);
    expect(rec.sent).toHaveLength(1);
  });

  it('a full batch of chunks goes out without waiting for the linger; one report in flight at a time', async () => {
    const rec = recorder();
    const r = new AttemptReporter({ send: rec.send, onLost: () => undefined, lingerMs: 10_000 });
    const release = rec.hold();
    const full = Array.from({ length: 16 }, (_, i) => chunk(i));
    const first = r.deliverChunks(full);
    await sleep(10);
    expect(rec.sent).toHaveLength(1);
    r.stage(stage(0, 'RUNNING'));
    const second = r.deliverChunks(Array.from({ length: 16 }, (_, i) => chunk(16 + i)));
    await sleep(10);
    expect(rec.sent).toHaveLength(1); // the second batch waits for the first answer
    release();
    await first;
    await second;
    expect(rec.sent).toHaveLength(2);
    expect(rec.sent[1]!.stages).toEqual([stage(0, 'RUNNING')]);
    expect(rec.sent[1]!.chunks?.map((c) => c.seq)).toEqual(Array.from({ length: 16 }, (_, i) => 16 + i));
  });

  it('a burst at the end goes out in bounded reports, the spool waiting for each, the result with the last', async () => {
    const rec = recorder();
    const r = new AttemptReporter({ send: rec.send, onLost: () => undefined, lingerMs: 10_000 });
    r.holdForResult();
    const big = (seq: number) => ({ seq, stageOrdinal: 0, offset: seq * 262_144, data: new Uint8Array(262_144) });
    // 13 MiB in spool-sized batches of 16 chunks (4 MiB), as a stage printing 13 MB just before it ends would give.
    let seq = 0;
    for (let b = 0; b < 4; b++) await r.deliverChunks(Array.from({ length: b < 3 ? 16 : 4 }, () => big(seq++)));
    await r.finish('PASSED', null);
    const bytes = (rep: AttemptReport) => (rep.chunks ?? []).reduce((n, c) => n + c.data.byteLength, 0);
    expect(rec.sent.length).toBeGreaterThan(1);
    for (const rep of rec.sent) expect(bytes(rep)).toBeLessThanOrEqual(MAX_HELD_BYTES);
    expect(rec.sent.flatMap((rep) => rep.chunks ?? []).map((c) => c.seq)).toEqual(Array.from({ length: seq }, (_, i) => i));
    expect(rec.sent.filter((rep) => rep.finish)).toHaveLength(1);
    expect(rec.sent.at(-1)!.finish).toEqual({ state: 'PASSED', reason: null });
  });

  it('abandonLog: the result gets through without the log the server refused', async () => {
    const rec = recorder();
    const r = new AttemptReporter({ send: rec.send, onLost: () => undefined, lingerMs: 10_000 });
    r.holdForResult();
    await r.deliverChunks([chunk(0)]);
    rec.failNext(new Error('report: 413 too large'));
    await expect(r.finish('PASSED', null)).rejects.toThrow('413');
    r.abandonLog();
    await r.deliverChunks([chunk(1)]);
    await r.finish('FAILED', 'werker error: report: 413 too large');
    expect(rec.sent.at(-1)).toEqual({ finish: { state: 'FAILED', reason: 'werker error: report: 413 too large' } });
  });

  it('a failed send hands chunks back to the spool and keeps stage records for the next report', async () => {
    const rec = recorder();
    const r = new AttemptReporter({ send: rec.send, onLost: () => undefined, lingerMs: 5 });
    rec.failNext(new Error('server not answering'));
    r.stage(stage(0, 'RUNNING'));
    await expect(r.deliverChunks([chunk(0)])).rejects.toThrow('server not answering');
    // A newer record of the same stage, made while the failed report was out, wins over the put-back one, and
    // the put-back records go out by themselves with the next linger.
    r.stage(stage(0, 'PASSED'));
    await sleep(40);
    expect(rec.sent.at(-1)).toEqual({ stages: [stage(0, 'PASSED')] });
  });

  it('a lost lease ends it: pending chunks fail, onLost is told once, nothing more is sent', async () => {
    const rec = recorder();
    const lost: unknown[] = [];
    const r = new AttemptReporter({ send: rec.send, onLost: (err) => lost.push(err), lingerMs: 5 });
    rec.failNext(new LeaseLostError('build 1 attempt 1: lease expired'));
    const acked = r.deliverChunks([chunk(0)]);
    await expect(acked).rejects.toBeInstanceOf(LeaseLostError);
    await expect(r.deliverChunks([chunk(1)])).rejects.toBeInstanceOf(LeaseLostError);
    r.stage(stage(0, 'PASSED'));
    await expect(r.finish('PASSED', null)).rejects.toBeInstanceOf(LeaseLostError);
    await sleep(20);
    expect(rec.sent).toHaveLength(1);
    expect(lost).toHaveLength(1);
  });
});
