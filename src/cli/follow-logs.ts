/**
 * `ocelot logs --follow`: the build log as server-sent events (server/log-stream.ts), each log event carrying the
 * id `attempt:seq` of its chunk. When the connection drops (the server replica restarts, a proxy resets it, the
 * network goes away) the follow reconnects with `Last-Event-ID` set to the last event it printed, so the server
 * goes on right after it: no line twice, none skipped. Tries come at a back-off of at most `maxDelayMs`; one notice
 * goes to stderr when the stream is lost and one when it is back. After `giveUpMs` without an answer it stops with
 * one clear error.
 */
import { ApiClient, ApiError } from './api-client.js';

export interface FollowOptions {
  /** The attempt to start at (default: the build's current one). */
  attempt?: number;
  /** Receives the log text, in order, each byte once. */
  write(text: string): void | Promise<void>;
  /** One-line notices (stream lost, stream back). */
  notice(line: string): void;
  /** Give up after this long without an answer from the server (default 60 s). */
  giveUpMs?: number;
  /** Longest pause between two tries (default 1 s). */
  maxDelayMs?: number;
  /**
   * A connection that brings nothing for this long is taken for dead (default 15 s). A following server sends
   * at least a keep-alive every second, so this only catches connections that hang without closing.
   */
  idleMs?: number;
}

/** The read side failed: the connection broke, hung, or ended before the server said the log was complete. */
class StreamDropped extends Error {}

interface SseEvent {
  id?: string;
  event: string;
  data: string;
}

export async function followLogs(api: ApiClient, buildId: number, opts: FollowOptions): Promise<void> {
  const giveUpMs = opts.giveUpMs ?? 60_000;
  const maxDelayMs = opts.maxDelayMs ?? 1_000;
  const idleMs = opts.idleMs ?? 15_000;

  let attempt = opts.attempt; // where a try without an event id starts
  let last: { attempt: number; seq: number } | undefined; // the last chunk printed
  let announced = 0; // the attempt whose banner was printed last (or the one we started at)
  let outage: number | null = null; // since when the server has not answered
  let delay = 0;

  for (;;) {
    const abort = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const watch = () => {
      clearTimeout(timer);
      timer = setTimeout(() => abort.abort(new StreamDropped(`no answer for ${Math.round(idleMs / 1000)} s`)), idleMs);
    };
    const unwatch = () => clearTimeout(timer);
    let failure: string;
    try {
      watch();
      const res = await api.logEvents(buildId, {
        follow: true,
        attempt,
        lastEventId: last ? `${last.attempt}:${last.seq}` : undefined,
        signal: abort.signal,
      });
      // Pin the attempt the server chose: a retry before any event must not skip to a newer attempt.
      attempt ??= res.attempt ?? undefined;
      if (announced === 0) announced = attempt ?? 0;
      const ended = await readEvents(res.body, watch, unwatch, {
        alive: () => {
          if (outage !== null) opts.notice(`ocelot: the log stream of build ${buildId} is back`);
          outage = null;
          delay = 0;
        },
        event: async (ev) => {
          if (ev.event === 'log') {
            const pos = parseId(ev.id);
            // Already printed (a server that resumed too early): skip rather than print twice.
            if (pos && last && (pos.attempt < last.attempt || (pos.attempt === last.attempt && pos.seq <= last.seq))) return;
            await opts.write(JSON.parse(ev.data) as string);
            if (pos) last = pos;
          } else if (ev.event === 'attempt') {
            const n = Number(ev.data);
            if (Number.isInteger(n) && n > announced) {
              announced = n;
              await opts.write(`\n--- attempt ${n} ---\n`);
            }
          }
        },
      });
      if (ended) return;
      failure = 'the server closed the stream';
    } catch (err) {
      if (!(err instanceof StreamDropped || retryable(err))) throw err;
      failure = describe(err);
    } finally {
      unwatch();
      abort.abort();
    }

    const now = Date.now();
    const since: number = outage ?? now;
    if (outage === null) {
      outage = since;
      opts.notice(`ocelot: lost the log stream of build ${buildId} (${failure}); reconnecting to ${api.server}…`);
    } else if (now - since >= giveUpMs) {
      throw new ApiError(0, `gave up following build ${buildId}: no answer from ${api.server} for ${Math.round((now - since) / 1000)} s (${failure})`);
    }
    delay = Math.min(maxDelayMs, delay === 0 ? 100 : delay * 2);
    await new Promise((r) => setTimeout(r, Math.min(delay, Math.max(0, since + giveUpMs - now))));
  }
}

/**
 * Reads the event stream, handing each event over as it completes. True when the server ended the log (`end`);
 * false when the stream stopped without it. Read failures come out as StreamDropped; errors of the handlers
 * (the output) pass through unchanged.
 */
async function readEvents(
  body: ReadableStream<Uint8Array>,
  watch: () => void,
  unwatch: () => void,
  on: { alive(): void; event(ev: SseEvent): Promise<void> },
): Promise<boolean> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  let ev: Partial<SseEvent> = {};
  try {
    for (;;) {
      watch();
      let r: ReadableStreamReadResult<Uint8Array>;
      try {
        r = await reader.read();
      } catch (err) {
        throw err instanceof StreamDropped ? err : new StreamDropped(describe(err));
      }
      unwatch();
      if (r.done) return false;
      if (r.value.length === 0) continue;
      on.alive();
      buf += decoder.decode(r.value, { stream: true });
      let nl: number;
      while ((nl = buf.search(/\r\n|\r|\n/)) >= 0) {
        // A lone \r at the end of the buffer may be the first half of \r\n: wait for more.
        if (buf[nl] === '\r' && nl === buf.length - 1) break;
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + (buf.startsWith('\r\n', nl) ? 2 : 1));
        if (line === '') {
          if (ev.data !== undefined || ev.event !== undefined) {
            const done: SseEvent = { id: ev.id, event: ev.event ?? 'message', data: ev.data ?? '' };
            ev = {};
            if (done.event === 'end') return true;
            await on.event(done);
          }
          continue;
        }
        if (line.startsWith(':')) continue; // a comment: the server's keep-alive
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'data') ev.data = ev.data === undefined ? value : `${ev.data}\n${value}`;
        else if (field === 'event') ev.event = value;
        else if (field === 'id') ev.id = value;
      }
    }
  } finally {
    unwatch();
    reader.cancel().catch(() => undefined);
  }
}

function parseId(id: string | undefined): { attempt: number; seq: number } | undefined {
  const m = id === undefined ? null : /^(\d+):(\d+)$/.exec(id);
  return m ? { attempt: Number(m[1]), seq: Number(m[2]) } : undefined;
}

/** Worth another try: the server could not be reached or answered with a server-side (5xx) or busy status. */
function retryable(err: unknown): boolean {
  return err instanceof ApiError && (err.status === 0 || err.status >= 500 || err.status === 429 || err.status === 408);
}

/** A short reason for a notice: `connect ECONNREFUSED 127.0.0.1:8088`, `terminated: other side closed`. */
function describe(err: unknown): string {
  if (err instanceof StreamDropped) return err.message;
  if (err instanceof ApiError) {
    if (err.status !== 0) return `${err.status}: ${err.reason}`;
    return err.cause instanceof Error ? describe(err.cause) : 'the server cannot be reached';
  }
  if (err instanceof Error) {
    const cause = err.cause instanceof Error && err.cause.message !== err.message ? `: ${err.cause.message}` : '';
    return `${err.message || err.name}${cause}`;
  }
  return String(err);
}
