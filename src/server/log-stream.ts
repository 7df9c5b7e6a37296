/**
 * GET /api/v1/builds/:id/logs — the build log from any position, then (with follow) live until the build ends.
 *
 * Two encodings: raw bytes (chunked HTTP, what the CLI uses) and SSE (`Accept: text/event-stream`, for browsers;
 * each event's id is the chunk seq, so EventSource resumes with Last-Event-ID). A reader that joins late gets
 * everything from `from` on, then follows: backlog and tail come from the same seq cursor, so nothing is missed
 * or repeated. When the build moves to a new attempt (its werker was lost), following continues there.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Store } from '../store/store.js';
import { FINAL_BUILD_STATES } from '../store/schema.js';

const PAGE = 64;

export async function streamLogs(
  store: Store,
  req: FastifyRequest<{ Params: { id: string }; Querystring: { attempt?: string; from?: string; follow?: string } }>,
  reply: FastifyReply,
): Promise<void> {
  const buildId = Number(req.params.id);
  const build = await store.getBuild(buildId);
  if (!build) {
    await reply.code(404).send({ error: 'not_found', reason: `build ${req.params.id} does not exist` });
    return;
  }
  const sse = (req.headers.accept ?? '').includes('text/event-stream');
  const follow = req.query.follow === '1' || req.query.follow === 'true';
  let attempt = req.query.attempt ? Number(req.query.attempt) : Math.max(1, build.attempt);
  const lastEventId = req.headers['last-event-id'];
  let next = Number(req.query.from ?? 0);
  let resumed = false;
  if (sse && typeof lastEventId === 'string' && /^\d+:\d+$/.test(lastEventId)) {
    const [a, s] = lastEventId.split(':').map(Number) as [number, number];
    attempt = a;
    next = s + 1;
    resumed = true;
  }
  let decoder = new TextDecoder();
  if (resumed) {
    // A chunk may end inside a UTF-8 character; the first connection's decoder held those bytes back for the
    // next event. Decode the last chunk the reader got (output dropped) so the resumed stream completes the
    // character instead of losing it.
    const [last] = await store.readLogs(buildId, attempt, next - 1, 1);
    if (last?.seq === next - 1) decoder.decode(last.data, { stream: true });
  }

  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'content-type': sse ? 'text/event-stream; charset=utf-8' : 'application/octet-stream',
    'cache-control': 'no-cache',
    'x-accel-buffering': 'no',
    'x-ocelot-attempt': String(attempt),
  });
  let closed = false;
  req.raw.on('close', () => (closed = true));

  const write = (data: Uint8Array, seq: number) => {
    if (!sse) return res.write(data);
    const text = decoder.decode(data, { stream: true });
    return res.write(`id: ${attempt}:${seq}\nevent: log\ndata: ${JSON.stringify(text)}\n\n`);
  };

  while (!closed) {
    const chunks = await store.readLogs(buildId, attempt, next, PAGE);
    for (const c of chunks) {
      if (!write(c.data, c.seq)) await new Promise((r) => res.once('drain', r));
      next = c.seq + 1;
    }
    if (chunks.length === PAGE) continue;
    const current = await store.getBuild(buildId);
    if (!current) break;
    if (current.attempt > attempt && follow) {
      // The attempt we were following was lost and the build runs again: keep following the new one. (Without
      // follow, the answer is the attempt asked for, and only that.)
      const more = await store.readLogs(buildId, attempt, next, 1);
      if (more.length > 0) continue;
      attempt += 1;
      next = 0;
      decoder = new TextDecoder();
      const banner = `\n--- attempt ${attempt} ---\n`;
      if (sse) res.write(`event: attempt\ndata: ${attempt}\n\n`);
      else res.write(banner);
      continue;
    }
    const final = FINAL_BUILD_STATES.includes(current.state);
    if (!follow || final) {
      // Final builds have flushed every chunk before finishing; read once more to close the race.
      const tail = final ? await store.readLogs(buildId, attempt, next, PAGE) : [];
      if (tail.length > 0) continue;
      if (sse) res.write(`event: end\ndata: ${JSON.stringify({ state: current.state, reason: current.reason })}\n\n`);
      break;
    }
    await waitForActivity(store, buildId, 1_000, () => closed);
    if (sse) res.write(': keep-alive\n\n');
  }
  res.end();
}

function waitForActivity(store: Store, buildId: number, ms: number, isClosed: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    if (isClosed()) return resolve();
    let unsubscribe = () => {};
    const done = () => {
      clearTimeout(timer);
      unsubscribe();
      resolve();
    };
    const timer = setTimeout(done, ms);
    unsubscribe = store.onBuildActivity(buildId, done);
  });
}
