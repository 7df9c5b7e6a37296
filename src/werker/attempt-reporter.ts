/**
 * Batches what a werker reports about one attempt (stage changes, log chunks, the result) into as few protocol
 * calls as it can, without making anything wait that should not.
 *
 * Why: every report is a fenced transaction on the server. Sent one by one, a trivial build cost a dozen of them
 * (stage rows before and after each step, a log pass per step, the finish) and that, not the build, was what
 * capped a fleet's throughput. Batched, a build that runs within the linger costs one report: the result with
 * its stages and its whole log.
 *
 * How:
 * - Stage changes never wait: `stage()` notes the newest record of that ordinal and the batch goes out within
 *   `lingerMs` (default 250 ms), so a running stage shows as RUNNING within a quarter of a second.
 * - Log chunks resolve when the server has stored them (the spool keeps the bytes until then); a full batch from
 *   the spool goes out at once, so a fast writer streams at full speed, and a trickle waits at most the linger.
 * - One report in flight at a time: stage updates arrive in order, and what piles up meanwhile goes in the next.
 * - `holdForResult()` at the end: chunks are taken as delivered locally and ride along with the result in the
 *   final report, so the last log lines, the stage rows and the finish are one call.
 * - A lost lease (LeaseLostError) ends the reporter: everything pending fails, `onLost` is told once, and nothing
 *   more is sent. Any other failure (the HTTP client already retried for a minute) puts the stage records back
 *   for the next report and fails the chunks back to the spool, which offers them again.
 */
import { LeaseLostError, chunkLength, type AttemptReport, type BuildResultState, type LogChunk, type StageRecord } from './protocol.js';

export const DEFAULT_REPORT_LINGER_MS = 250;
/** A batch of chunks this big goes out without waiting for the linger. */
const SEND_AT_ONCE_CHUNKS = 16;
const SEND_AT_ONCE_BYTES = 1024 * 1024;
/**
 * Most log bytes held for the final report. A stage that prints megabytes just before it ends would otherwise
 * make one report of all of it: past the server's body limit (16 MiB, base64), and all of it in memory at once.
 * Past this, held chunks are sent on their own first, and the spool waits for that.
 */
export const MAX_HELD_BYTES = 4 * 1024 * 1024;

export interface AttemptReporterOptions {
  send(report: AttemptReport): Promise<void>;
  /** The lease is gone: stop the build, write nothing more. Called at most once. */
  onLost(err: unknown): void;
  lingerMs?: number;
}

interface ChunkWaiter {
  resolve(): void;
  reject(err: unknown): void;
}

export class AttemptReporter {
  private readonly lingerMs: number;
  private stages = new Map<number, StageRecord>();
  /** Chunks the spool waits on (it still owns them: a failed send gives them back to it). */
  private chunks: LogChunk[] = [];
  private chunkBytes = 0;
  /** Chunks taken for the final report after holdForResult(): the reporter owns them. */
  private held: LogChunk[] = [];
  private heldBytes = 0;
  private waiters: ChunkWaiter[] = [];
  private inFlight: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private holding = false;
  private logAbandoned = false;
  private finished = false;
  private lost: unknown = null;

  constructor(private readonly opts: AttemptReporterOptions) {
    this.lingerMs = Math.max(0, opts.lingerMs ?? DEFAULT_REPORT_LINGER_MS);
  }

  /** The newest state of a stage row; reaches the server within the linger. */
  stage(record: StageRecord): void {
    if (this.lost || this.finished) return;
    this.stages.set(record.ordinal, { ...record });
    this.schedule();
  }

  /** Log chunks, in seq order; resolves once stored (or, after holdForResult(), once taken for the result). */
  deliverChunks(chunks: LogChunk[]): Promise<void> {
    if (this.lost) return Promise.reject(this.lost);
    // After the result nothing can be stored any more (the lease is closed); there is nobody to tell.
    if (this.finished || this.logAbandoned || chunks.length === 0) return Promise.resolve();
    if (this.holding) return this.hold(chunks);
    this.chunks.push(...chunks);
    for (const c of chunks) this.chunkBytes += chunkLength(c);
    const acked = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    if (this.chunks.length >= SEND_AT_ONCE_CHUNKS || this.chunkBytes >= SEND_AT_ONCE_BYTES) this.sendSoon(0);
    else this.schedule();
    return acked;
  }

  /**
   * From now on chunks are kept for the final report instead of being sent: call before draining the spool at
   * the end of the attempt, then `finish()` (or `settle()` before a hand-back, which discards them).
   */
  holdForResult(): void {
    this.holding = true;
    this.clearTimer();
    // Chunks still waiting for a send are taken over too: the spool's drain waits for them, and they now go
    // with the result.
    this.held.push(...this.chunks);
    this.heldBytes += this.chunkBytes;
    for (const w of this.waiters) w.resolve();
    this.chunks = [];
    this.chunkBytes = 0;
    this.waiters = [];
  }

  /**
   * Take chunks for the final report; when that would hold more than MAX_HELD_BYTES, what is held goes out first
   * (the spool waits for it: back-pressure, so a burst at the end is shipped in bounded reports).
   */
  private async hold(chunks: LogChunk[]): Promise<void> {
    const bytes = chunks.reduce((n, c) => n + chunkLength(c), 0);
    if (this.held.length > 0 && this.heldBytes + bytes > MAX_HELD_BYTES) {
      await this.settle();
      if (this.lost) throw this.lost;
      if (this.finished) return;
      await this.sendPending();
    }
    this.held.push(...chunks);
    this.heldBytes += bytes;
  }

  /** Drop every log chunk not yet stored (the result must still get through when the log cannot). */
  abandonLog(): void {
    this.held = [];
    this.heldBytes = 0;
    for (const w of this.waiters) w.resolve();
    this.waiters = [];
    this.chunks = [];
    this.chunkBytes = 0;
    this.logAbandoned = true;
  }

  /** Wait until nothing is in flight (a report already on its way has landed or failed). */
  async settle(): Promise<void> {
    while (this.inFlight) await this.inFlight.catch(() => undefined);
  }

  /** The final report: every stage change and log chunk still pending, and the result. */
  async finish(state: BuildResultState, reason: string | null): Promise<void> {
    this.holding = true;
    this.clearTimer();
    await this.settle();
    if (this.lost) throw this.lost;
    await this.sendPending({ state, reason });
    this.finished = true;
  }

  private schedule(): void {
    if (this.holding || this.timer || this.inFlight || this.lost) return;
    this.sendSoon(this.lingerMs);
  }

  private sendSoon(delayMs: number): void {
    if (this.inFlight || this.lost) return; // the report in flight sends what piled up when it lands
    this.clearTimer();
    this.timer = setTimeout(() => {
      this.timer = null;
      if (!this.inFlight) void this.sendPending().catch(() => undefined);
    }, delayMs);
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private sendPending(finish?: AttemptReport['finish']): Promise<void> {
    const stages = [...this.stages.values()];
    const owned = this.chunks;
    const held = this.held;
    const chunks = [...owned, ...held].sort((a, b) => a.seq - b.seq);
    const waiters = this.waiters;
    this.stages = new Map();
    this.chunks = [];
    this.chunkBytes = 0;
    this.held = [];
    this.heldBytes = 0;
    this.waiters = [];
    const report: AttemptReport = {
      ...(stages.length ? { stages } : {}),
      ...(chunks.length ? { chunks } : {}),
      ...(finish ? { finish } : {}),
    };
    const sent = this.opts.send(report).then(
      () => {
        for (const w of waiters) w.resolve();
      },
      (err: unknown) => {
        if (err instanceof LeaseLostError) this.loseLease(err, waiters);
        else this.putBack(stages, held, err, waiters);
        throw err;
      },
    );
    const flight = sent.finally(() => {
      if (this.inFlight === settled) this.inFlight = null;
      // What arrived meanwhile goes out next (a full batch at once, else after the linger).
      if (!this.holding && !this.lost && (this.stages.size > 0 || this.chunks.length > 0)) {
        this.sendSoon(this.chunks.length >= SEND_AT_ONCE_CHUNKS || this.chunkBytes >= SEND_AT_ONCE_BYTES ? 0 : this.lingerMs);
      }
    });
    const settled = flight.catch(() => undefined);
    this.inFlight = settled;
    return flight;
  }

  /** A failed send: newer records of the same stages win; chunks the spool still owns go back to it. */
  private putBack(stages: StageRecord[], heldChunks: LogChunk[], err: unknown, waiters: ChunkWaiter[]): void {
    for (const s of stages) if (!this.stages.has(s.ordinal)) this.stages.set(s.ordinal, s);
    // Chunks someone waits for are the spool's: it offers them again. Held chunks (taken for the result) are ours.
    this.held = [...heldChunks, ...this.held];
    this.heldBytes = this.held.reduce((n, c) => n + chunkLength(c), 0);
    for (const w of waiters) w.reject(err);
  }

  private loseLease(err: unknown, waiters: ChunkWaiter[]): void {
    const first = this.lost === null;
    this.lost = err;
    this.clearTimer();
    for (const w of [...waiters, ...this.waiters]) w.reject(err);
    this.waiters = [];
    this.stages.clear();
    this.chunks = [];
    this.held = [];
    this.heldBytes = 0;
    this.chunkBytes = 0;
    if (first) this.opts.onLost(err);
  }
}
