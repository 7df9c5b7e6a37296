/**
 * The log spool of one build attempt: an append-only file that stage processes write into directly (the file's
 * fd is their stdout and stderr), and a tailer that turns what was appended into seq-numbered LogChunks for the
 * server.
 *
 * Why a file and not pipes: a child writing into a file never waits for Node, output keeps the exact order in
 * which stdout and stderr were written, and in embedded mode the store reads this very file, so a log is written
 * to disk once. Why the tailer can never lose data: the bytes are on disk before they are chunked; a chunk that
 * could not be delivered is simply offered again (same seq, the server's insert is idempotent), and delivery
 * resumes where it stopped.
 *
 * Stage attribution is by byte offset: setStage(n) notes the file's current size, and every byte before it
 * belongs to the previous stage, every byte after it to stage n. The caller therefore calls setStage(n) after
 * stage n-1's processes ended and before stage n starts. A chunk never spans two stages.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { StageOutput } from '../runtimes/runtime.js';
import { LeaseLostError, chunkLength, type LogChunk } from './protocol.js';

export const MAX_CHUNK_BYTES = 256 * 1024;
/** Default bound of bytes written but not acknowledged while delivery fails (server unreachable). */
export const DEFAULT_MAX_UNACKED_BYTES = 256 * 1024 * 1024;
const EMPTY = new Uint8Array(0);

export interface LogSpoolOptions {
  /** Deliver chunks (in seq order; the next call waits for this one). Throwing means "offer them again later". */
  onChunks(chunks: LogChunk[]): Promise<void>;
  /**
   * Delivery gave up after the retries (or on an error not worth retrying). The bytes stay in the file, and
   * unless the error was fatal, delivery starts over by itself every `retryMaxMs` (and on drain()).
   */
  onError?(err: unknown): void;
  /**
   * While delivery is failing, more than `maxUnackedBytes` have piled up unacknowledged: the disk must not fill
   * up because the server is away, so the owner should stop what writes (the build). Called once, with a
   * message for the build's reason. Delivery goes on: what is in the file still reaches the server later.
   */
  onOverflow?(message: string): void;
  /** Default 256 MiB. Counted only while delivery fails, so a fast writer with a healthy server is never cut. */
  maxUnackedBytes?: number;
  /** Stage of the bytes written before the first setStage(); default 0. */
  initialStage?: number;
  /**
   * The reader of the chunks has this very file (embedded mode: the spool is the store's log file): send
   * index-only chunks (offset + length), never reading the bytes back. Makes big logs cost what writing them costs.
   */
  indexOnly?: boolean;
  /** Upper bound of one chunk's data; default and maximum 256 KiB. */
  maxChunkBytes?: number;
  /** At most this many chunks per onChunks call; default 16 (4 MiB). */
  maxChunksPerCall?: number;
  /** Fallback poll interval when no file-change event arrives; default 50 ms. */
  pollMs?: number;
  /**
   * Minimum time between two tail passes while output streams; default 25 ms. Without it a fast writer would be
   * chased in 4 KiB steps, turning a 100 MB log into 25,000 tiny chunks (and as many store rows). drain() does
   * not wait for it.
   */
  minPassIntervalMs?: number;
  /** Retries of one failed onChunks call before giving up; default 10 (about half a minute of backoff). */
  maxRetries?: number;
  retryInitialMs?: number;
  retryMaxMs?: number;
  /** Errors for which a retry cannot help; default: LeaseLostError (the attempt is no longer ours). */
  isFatal?(err: unknown): boolean;
}

interface Boundary {
  offset: number;
  stage: number;
}

interface Waiter {
  gen: number;
  resolve(): void;
  reject(err: unknown): void;
}

export class LogSpool {
  readonly path: string;
  private readonly opts: Required<Omit<LogSpoolOptions, 'onError' | 'onOverflow' | 'initialStage' | 'indexOnly'>> &
    Pick<LogSpoolOptions, 'onError' | 'onOverflow'>;
  private readonly indexOnly: boolean;
  private readonly writeFd: number;
  private readonly readFd: number;
  private readonly scratch: Buffer;
  private readonly timer: NodeJS.Timeout;
  private watcher: fs.FSWatcher | undefined;
  private watchUnsupported = false;
  /** File size at the last timer tick: unchanged means the writers are quiet and the watch can be re-armed. */
  private lastTickSize = 0;

  /** Where the next read starts; everything before it has been chunked. */
  private readOffset: number;
  private nextSeq = 0;
  /** Stage changes not yet passed by the reader (the first entry is the stage at readOffset). */
  private boundaries: Boundary[];
  /** A batch whose delivery failed, offered again before anything new. */
  private pending: LogChunk[] | null = null;

  private requested = 0;
  private completed = 0;
  private pumping = false;
  private lastPassAt = -Infinity;
  private wakeUp: (() => void) | null = null;
  private failure: unknown = null;
  /** When the current give-up happened, for the automatic restart; fatal give-ups never restart. */
  private failedAt = 0;
  private failureFatal = false;
  /** Everything before this offset has been acknowledged by onChunks. */
  private acked: number;
  /** Since when onChunks has been failing (null while it succeeds). */
  private failingSince: number | null = null;
  private overflowed = false;
  private waiters: Waiter[] = [];
  private closed = false;

  /** Opens (creating directories) the spool file for appending. Existing content is kept and not re-sent. */
  constructor(filePath: string, opts: LogSpoolOptions) {
    this.path = filePath;
    this.opts = {
      onChunks: opts.onChunks,
      onError: opts.onError,
      onOverflow: opts.onOverflow,
      maxUnackedBytes: Math.max(1, opts.maxUnackedBytes ?? DEFAULT_MAX_UNACKED_BYTES),
      maxChunkBytes: Math.min(Math.max(1, opts.maxChunkBytes ?? MAX_CHUNK_BYTES), MAX_CHUNK_BYTES),
      maxChunksPerCall: Math.max(1, opts.maxChunksPerCall ?? 16),
      pollMs: opts.pollMs ?? 50,
      minPassIntervalMs: opts.minPassIntervalMs ?? 25,
      maxRetries: opts.maxRetries ?? 10,
      retryInitialMs: opts.retryInitialMs ?? 100,
      retryMaxMs: opts.retryMaxMs ?? 5000,
      isFatal: opts.isFatal ?? ((err) => err instanceof LeaseLostError),
    };
    this.indexOnly = opts.indexOnly === true;
    fs.mkdirSync(path.dirname(filePath), { recursive: true });
    // 'a' = O_APPEND: every writer (children, Node) appends atomically at the end, whatever its own offset.
    this.writeFd = fs.openSync(filePath, 'a');
    this.readFd = fs.openSync(filePath, 'r');
    this.readOffset = fs.fstatSync(this.writeFd).size;
    this.acked = this.readOffset;
    this.boundaries = [{ offset: this.readOffset, stage: opts.initialStage ?? 0 }];
    this.scratch = Buffer.allocUnsafe(this.opts.maxChunkBytes);

    // A change event makes sparse output visible within milliseconds. But the kernel sends one per write, and a
    // program printing 100 MB makes thousands a second that cost the writer and this loop time for nothing: so
    // the first event disarms the watch, the timer (every pollMs) takes over while output keeps coming, and
    // the watch is armed again once a tick sees the file standing still.
    this.lastTickSize = this.readOffset;
    this.watch();
    this.timer = setInterval(() => this.tick(), this.opts.pollMs);
    this.timer.unref();
  }

  private watch(): void {
    if (this.closed || this.watcher || this.watchUnsupported) return;
    try {
      this.watcher = fs.watch(this.path, { persistent: false }, () => {
        this.stopWatching();
        this.kick();
      });
      this.watcher.on('error', () => this.stopWatching());
    } catch {
      this.watchUnsupported = true; // the timer alone, then
    }
  }

  private tick(): void {
    if (!this.watcher && !this.closed) {
      const size = fs.fstatSync(this.writeFd).size;
      if (size === this.lastTickSize) this.watch();
      this.lastTickSize = size;
    }
    if (this.failingSince !== null) this.checkBound();
    // A give-up is not the end: the server may be back by now (a long restart, a network cut that healed), so
    // delivery starts over from the first unacknowledged chunk rather than waiting for the build's final drain.
    if (this.failure && !this.failureFatal && !this.pumping && performance.now() - this.failedAt >= this.opts.retryMaxMs) this.failure = null;
    if (!this.pumping && !this.failure) this.kick();
  }

  /** The bound on what piles up while the server is away: reported once, the owner stops the writer. */
  private checkBound(): void {
    if (this.overflowed || this.closed) return;
    const unacked = fs.fstatSync(this.writeFd).size - this.acked;
    if (unacked <= this.opts.maxUnackedBytes) return;
    this.overflowed = true;
    const mib = (n: number) => `${Math.round(n / (1024 * 1024))} MiB`;
    const since = new Date(Date.now() - (performance.now() - this.failingSince!)).toISOString();
    try {
      this.opts.onOverflow?.(
        `log shipping failed: the server has not acknowledged log output since ${since} and ${mib(unacked)} are waiting in ` +
          `the werker's spool (limit ${mib(this.opts.maxUnackedBytes)}, OCELOT_SPOOL_MAX_MB); the build was stopped so the disk does not fill up`,
      );
    } catch {
      // the owner's handler must not break the timer
    }
  }

  /** The sink for a stage: the spool's fd for child processes, and a synchronous append for Ocelot's own text. */
  output(_stageOrdinal: number): StageOutput {
    // The ordinal is informational: attribution follows setStage() boundaries, since child processes write
    // through the same fd and no per-write tagging is possible for them.
    const spool = this;
    return {
      get fd() {
        return spool.liveFd();
      },
      write(data: string | Uint8Array) {
        spool.append(data);
      },
    };
  }

  /** Bytes from now on belong to `ordinal`; everything already in the file to the stage before. */
  setStage(ordinal: number): void {
    const offset = fs.fstatSync(this.liveFd()).size;
    const last = this.boundaries[this.boundaries.length - 1]!;
    if (last.stage === ordinal) return;
    // A stage that wrote nothing leaves no trace: its boundary is replaced.
    if (last.offset === offset && this.boundaries.length > 1) this.boundaries.pop();
    if (offset === this.readOffset && this.boundaries.length === 1) this.boundaries[0] = { offset, stage: ordinal };
    else this.boundaries.push({ offset, stage: ordinal });
    this.kick();
  }

  /** Resolves once everything written before the call has been chunked and acknowledged by onChunks. */
  drain(): Promise<void> {
    // An explicit drain after a give-up tries again (with fresh retries): the bytes are still in the file.
    if (this.failure && !this.pumping) this.failure = null;
    return new Promise<void>((resolve, reject) => {
      const gen = this.kick();
      if (this.completed >= gen) return resolve();
      this.waiters.push({ gen, resolve, reject });
      this.wakeUp?.();
    });
  }

  /** Drains, then releases the file. Writing after close() throws. Rejects (after cleanup) if the drain failed. */
  async close(): Promise<void> {
    if (this.closed) return;
    let drainError: unknown = null;
    try {
      await this.drain();
    } catch (err) {
      drainError = err;
    }
    this.closed = true;
    clearInterval(this.timer);
    this.stopWatching();
    fs.closeSync(this.writeFd);
    fs.closeSync(this.readFd);
    if (drainError) throw drainError;
  }

  /** Total bytes chunked so far (the log stream's length as the server will see it). */
  get offset(): number {
    return this.readOffset;
  }

  /** Seq the next chunk will get. */
  get seq(): number {
    return this.nextSeq;
  }

  private liveFd(): number {
    if (this.closed) throw new Error(`log spool ${this.path} is closed`);
    return this.writeFd;
  }

  private append(data: string | Uint8Array): void {
    const fd = this.liveFd();
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    let done = 0;
    while (done < buf.byteLength) done += fs.writeSync(fd, buf, done, buf.byteLength - done);
  }

  private stopWatching(): void {
    this.watcher?.close();
    this.watcher = undefined;
  }

  /** Ask for a tail pass; returns the generation a drain can wait for. */
  private kick(): number {
    const gen = ++this.requested;
    if (!this.pumping && !this.failure && !this.closed) void this.pump();
    return gen;
  }

  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      while (this.completed < this.requested) {
        const wait = this.lastPassAt + this.opts.minPassIntervalMs - performance.now();
        if (wait > 0 && this.waiters.length === 0) await this.pause(wait);
        this.lastPassAt = performance.now();
        const gen = this.requested;
        await this.pass();
        this.completed = gen;
        this.settle((w) => w.gen <= gen, null);
      }
    } catch (err) {
      this.failure = err;
      this.failedAt = performance.now();
      this.failureFatal = this.opts.isFatal(err);
      this.settle(() => true, err);
      try {
        this.opts.onError?.(err);
      } catch {
        // a failing error reporter must not turn into an unhandled rejection
      }
    } finally {
      this.pumping = false;
    }
  }

  /** The throttle between passes; a drain() cuts it short. */
  private pause(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakeUp = done;
    }).finally(() => (this.wakeUp = null));
  }

  private settle(which: (w: Waiter) => boolean, err: unknown): void {
    const keep: Waiter[] = [];
    for (const w of this.waiters) {
      if (!which(w)) keep.push(w);
      else if (err) w.reject(err);
      else w.resolve();
    }
    this.waiters = keep;
  }

  /**
   * Read everything appended so far and deliver it, batch by batch. Ends at the first read that reaches the end
   * of the file, even if a busy writer has added more meanwhile: that is for the next (throttled) pass, so that
   * a fast writer is collected in large chunks rather than chased in small ones.
   */
  private async pass(): Promise<void> {
    if (this.pending) await this.deliverPending();
    for (;;) {
      const { batch, atEnd } = await this.readBatch();
      if (batch.length > 0) {
        this.pending = batch;
        await this.deliverPending();
      }
      if (atEnd) return;
    }
  }

  private async deliverPending(): Promise<void> {
    await this.deliver(this.pending!);
    this.pending = null;
  }

  private async readBatch(): Promise<{ batch: LogChunk[]; atEnd: boolean }> {
    if (this.indexOnly) return this.indexBatch();
    const batch: LogChunk[] = [];
    while (batch.length < this.opts.maxChunksPerCall) {
      const want = Math.min(this.opts.maxChunkBytes, this.stageSpan().limit - this.readOffset);
      const n = readAt(this.readFd, this.scratch, want, this.readOffset);
      if (n === 0) return { batch, atEnd: true };
      // Look at the stage boundaries again AFTER the read: setStage() may have run meanwhile, and bytes past its
      // boundary (written by the next stage while we were reading) must not be credited to the previous one.
      const { stage, limit } = this.stageSpan();
      let len = Math.min(n, limit - this.readOffset);
      // A full chunk ends at its last newline when there is one in its second half, so that readers that show
      // chunks as they come rarely see a line cut in two. Short reads are sent as they are (live progress).
      if (len === this.opts.maxChunkBytes) {
        const nl = this.scratch.lastIndexOf(0x0a, len - 1);
        if (nl >= len / 2) len = nl + 1;
      }
      batch.push({ seq: this.nextSeq++, stageOrdinal: stage, offset: this.readOffset, data: Buffer.from(this.scratch.subarray(0, len)) });
      this.readOffset += len;
      if (n < want) return { batch, atEnd: true }; // reached the end of what is written
    }
    return { batch, atEnd: false };
  }

  /** Index-only: chunk what the file holds by its size alone; the bytes stay where they are. */
  private indexBatch(): { batch: LogChunk[]; atEnd: boolean } {
    const size = fs.fstatSync(this.readFd).size;
    const batch: LogChunk[] = [];
    while (batch.length < this.opts.maxChunksPerCall && this.readOffset < size) {
      const { stage, limit } = this.stageSpan();
      const length = Math.min(this.opts.maxChunkBytes, size - this.readOffset, limit - this.readOffset);
      batch.push({ seq: this.nextSeq++, stageOrdinal: stage, offset: this.readOffset, data: EMPTY, length });
      this.readOffset += length;
    }
    return { batch, atEnd: this.readOffset >= size };
  }

  /** The stage of the byte at readOffset, and where that stage's bytes end (the next boundary). */
  private stageSpan(): { stage: number; limit: number } {
    while (this.boundaries.length > 1 && this.boundaries[1]!.offset <= this.readOffset) this.boundaries.shift();
    return { stage: this.boundaries[0]!.stage, limit: this.boundaries[1]?.offset ?? Infinity };
  }

  private async deliver(batch: LogChunk[]): Promise<void> {
    let delay = this.opts.retryInitialMs;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.opts.onChunks(batch);
        const last = batch[batch.length - 1]!;
        this.acked = last.offset + chunkLength(last);
        this.failingSince = null;
        return;
      } catch (err) {
        this.failingSince ??= performance.now();
        if (attempt >= this.opts.maxRetries || this.opts.isFatal(err) || this.closed) throw err;
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, this.opts.retryMaxMs);
      }
    }
  }
}

/**
 * Synchronous: the bytes were just written and sit in the page cache, so a read of at most one chunk (256 KiB) is
 * a memory copy, cheaper done directly than as a trip through libuv's thread pool.
 */
function readAt(fd: number, buf: Buffer, length: number, position: number): number {
  return fs.readSync(fd, buf, 0, length, position);
}
