/**
 * Log chunks of a build attempt, seq-numbered by the werker. Storing is idempotent on (build, attempt, seq): a
 * resent chunk is ignored, so a werker can replay its spool after any reconnect. A chunk that arrives ahead of a
 * missing one is still stored; readers stop at the first gap, so they never see a hole or a reordering, and pick
 * up from there once the missing chunk arrives.
 *
 * Embedded mode (logsDir set): the bytes live in one file per attempt at each chunk's byte offset and the rows
 * only index it. The in-process werker spools output straight into that file, so when the file already holds a
 * chunk's bytes the store does not write them again.
 */
import { promises as fs, constants as fsc } from 'node:fs';
import path from 'node:path';
import type { Kysely } from 'kysely';
import { chunkLength, type Lease, type LogChunk } from '../werker/protocol.js';
import type { Database, LogChunksTable } from './schema.js';
import type { StoredChunk } from './store.js';
import { attemptLogPath } from './log-files.js';

/** Rows per INSERT: well under SQLite's bound-parameter limit and PostgreSQL's message sizes. */
const INSERT_BATCH = 200;
export const DEFAULT_READ_LIMIT = 500;

/**
 * Store log chunks inside the caller's fenced transaction; chunks already stored (same seq) are ignored. Returns
 * whether anything new was stored.
 */
export async function insertChunks(trx: Kysely<Database>, logsDir: string | undefined, lease: Lease, chunks: LogChunk[]): Promise<boolean> {
  if (chunks.length === 0) return false;
  if (!logsDir && chunks.some((c) => c.length !== undefined)) {
    throw new Error('index-only log chunks need a store that keeps logs in files (embedded mode)');
  }
  let fresh = chunks;
  if (logsDir) {
    // Bytes go to the file only for chunks the index does not have yet: a resent chunk must not be written twice.
    const seqs = [...new Set(chunks.map((c) => c.seq))];
    const known = new Set<number>();
    for (let i = 0; i < seqs.length; i += INSERT_BATCH) {
      const rows = await trx
        .selectFrom('log_chunks')
        .select('seq')
        .where('build_id', '=', lease.buildId)
        .where('attempt', '=', lease.attempt)
        .where('seq', 'in', seqs.slice(i, i + INSERT_BATCH))
        .execute();
      for (const r of rows) known.add(r.seq);
    }
    fresh = [];
    for (const c of chunks) {
      if (known.has(c.seq)) continue;
      known.add(c.seq);
      fresh.push(c);
    }
    if (fresh.length === 0) return false;
    await writeToFile(attemptLogPath(logsDir, lease.buildId, lease.attempt), fresh);
  }
  // In the database, the insert itself is idempotent: a resent seq hits the primary key and is skipped.
  const now = Date.now();
  const values: LogChunksTable[] = fresh.map((c) => ({
    build_id: lease.buildId,
    attempt: lease.attempt,
    seq: c.seq,
    stage_ordinal: c.stageOrdinal,
    byte_offset: c.offset,
    length: chunkLength(c),
    data: logsDir ? null : Buffer.from(c.data.buffer, c.data.byteOffset, c.data.byteLength),
    created_at: now,
  }));
  for (let i = 0; i < values.length; i += INSERT_BATCH) {
    await trx
      .insertInto('log_chunks')
      .values(values.slice(i, i + INSERT_BATCH))
      .onConflict((oc) => oc.columns(['build_id', 'attempt', 'seq']).doNothing())
      .execute();
  }
  return true;
}

async function writeToFile(file: string, chunks: LogChunk[]): Promise<void> {
  const end = Math.max(...chunks.map((c) => c.offset + chunkLength(c)));
  // The usual embedded case: the werker spooled it all already, and one stat says so.
  const existing = await fs.stat(file).catch(() => null);
  if (existing && existing.size >= end) return;
  if (chunks.some((c) => c.length !== undefined)) {
    throw new Error(`log file ${file} does not hold the bytes its index-only chunks point at`);
  }
  await fs.mkdir(path.dirname(file), { recursive: true });
  // Not O_APPEND: chunks go to their own offsets, whatever order they arrive in.
  const fh = await fs.open(file, fsc.O_RDWR | fsc.O_CREAT, 0o644);
  try {
    let size = (await fh.stat()).size;
    for (const c of chunks) {
      const end = c.offset + c.data.byteLength;
      if (size >= end) continue; // spooled there already by the in-process werker
      await fh.write(c.data, 0, c.data.byteLength, c.offset);
      size = Math.max(size, end);
    }
  } finally {
    await fh.close();
  }
}

/** Drop the log file of an attempt whose claim was handed back (its number will be reused). */
export async function discardLogFile(logsDir: string | undefined, buildId: number, attempt: number): Promise<void> {
  if (!logsDir) return;
  await fs.rm(attemptLogPath(logsDir, buildId, attempt), { force: true });
}

export async function readLogs(
  db: Kysely<Database>,
  toBytes: (v: unknown) => Uint8Array,
  logsDir: string | undefined,
  buildId: number,
  attempt: number,
  fromSeq: number,
  limit = DEFAULT_READ_LIMIT,
): Promise<StoredChunk[]> {
  const rows = await db
    .selectFrom('log_chunks')
    .select(['seq', 'stage_ordinal', 'byte_offset', 'length', 'data'])
    .where('build_id', '=', buildId)
    .where('attempt', '=', attempt)
    .where('seq', '>=', fromSeq)
    .orderBy('seq')
    .limit(limit)
    .execute();
  // Only the run without a hole: the chunk after a gap is returned once the gap is filled.
  const run: typeof rows = [];
  for (const r of rows) {
    if (r.seq !== fromSeq + run.length) break;
    run.push(r);
  }
  const fileBacked = run.filter((r) => r.data == null);
  const fromFile = fileBacked.length > 0 && logsDir ? await readSpan(attemptLogPath(logsDir, buildId, attempt), fileBacked) : null;

  const out: StoredChunk[] = [];
  for (const r of run) {
    let data: Uint8Array;
    if (r.data != null) data = toBytes(r.data);
    else {
      const bytes = fromFile?.(r.byte_offset, r.length);
      // Indexed but not on disk (file lost): stop here rather than hand out a hole.
      if (!bytes) break;
      data = bytes;
    }
    out.push({ seq: r.seq, stageOrdinal: r.stage_ordinal, offset: r.byte_offset, data });
  }
  return out;
}

/** Read the byte span the chunks cover with one read; returns a slicer, or null if the file is missing. */
async function readSpan(
  file: string,
  rows: Array<{ byte_offset: number; length: number }>,
): Promise<((offset: number, length: number) => Uint8Array | null) | null> {
  const start = Math.min(...rows.map((r) => r.byte_offset));
  const end = Math.max(...rows.map((r) => r.byte_offset + r.length));
  let fh;
  try {
    fh = await fs.open(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  try {
    const buf = Buffer.alloc(end - start);
    const { bytesRead } = await fh.read(buf, 0, buf.length, start);
    return (offset, length) => (offset - start + length <= bytesRead ? buf.subarray(offset - start, offset - start + length) : null);
  } finally {
    await fh.close();
  }
}
