/**
 * `WerkerServerClient` over HTTP(S), for `ocelot werker` on another machine (docs/werker-protocol.md).
 *
 * A werker must ride out a server restart or a proxy hiccup without failing its builds, so calls that are safe
 * to repeat are retried on connection errors and 5xx answers, with exponential backoff and full jitter (many
 * werkers reconnecting to a restarted server should not arrive in lockstep). Every call is safe to repeat but
 * `claim`: renew, stages and logs are idempotent, and the server answers a repeated finish or hand-back of the
 * same lease as a success. A claim is never retried here (the werker's slot loop claims again); it runs on its
 * own connection (long-poll.ts) so that giving up on it closes that connection and the server hands back a
 * claim it could no longer deliver.
 *
 * 409 `lease_lost` becomes LeaseLostError; 401 becomes TokenRefusedError, never retried (a revoked token does
 * not heal by waiting: the werker stops).
 */
import {
  LeaseLostError,
  TokenRefusedError,
  MAX_CLAIM_WAIT_MS,
  WERKER_API,
  reportToWire,
  type AttemptReport,
  type ClaimedBuild,
  type Lease,
  type RenewResult,
  type WerkerInfo,
  type WerkerStatus,
  type RegisterAnswer,
  type WerkerServerClient,
} from './protocol.js';
import http from 'node:http';
import https from 'node:https';
import { postLongPoll, requestJson, type LongPollAnswer } from './long-poll.js';

export interface HttpWerkerClientOptions {
  /** Base URL of the server (or of the proxy in front of the replicas), e.g. https://ci.example.com */
  server: string;
  token: string;
  /** How long a retried call keeps trying before it gives up (default 60 s: longer than a server restart). */
  retryForMs?: number;
  /** How long renew keeps trying (default 5 s): the lease keeper calls again anyway and decides when to give up. */
  renewRetryForMs?: number;
  /** Timeout of one request, claims excepted (default 20 s). */
  requestTimeoutMs?: number;
  retryInitialMs?: number;
  retryMaxMs?: number;
  log?: (msg: string) => void;
}

/** The server answered, with a status that is not worth retrying. */
export class WerkerProtocolError extends Error {
  override name = 'WerkerProtocolError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

interface CallOptions {
  retryForMs: number;
  timeoutMs: number;
  signal?: AbortSignal;
}

export class HttpWerkerClient implements WerkerServerClient {
  private readonly base: string;
  /** Keep-alive connections for the ordinary calls (renewals, stage updates, logs); the claim has its own. */
  private readonly agent: http.Agent;
  /** Connections for claims only: an aborted claim destroys its socket, an answered one leaves it to the next. */
  private readonly claimAgent: http.Agent;
  private readonly o: Required<Omit<HttpWerkerClientOptions, 'log'>> & Pick<HttpWerkerClientOptions, 'log'>;

  constructor(opts: HttpWerkerClientOptions) {
    this.base = opts.server.replace(/\/+$/, '');
    this.agent = this.base.startsWith('https:') ? new https.Agent({ keepAlive: true }) : new http.Agent({ keepAlive: true });
    this.claimAgent = this.base.startsWith('https:') ? new https.Agent({ keepAlive: true }) : new http.Agent({ keepAlive: true });
    this.o = {
      retryForMs: 60_000,
      renewRetryForMs: 5_000,
      requestTimeoutMs: 20_000,
      retryInitialMs: 200,
      retryMaxMs: 5_000,
      ...opts,
    };
  }

  async register(werker: WerkerInfo, status: WerkerStatus = 'online'): Promise<RegisterAnswer> {
    // Saying goodbye is best effort: a werker stopping while the server is down should not wait a minute.
    const opts = status === 'offline' ? { retryForMs: 2_000, timeoutMs: 2_000 } : this.retried();
    const answer = await this.call<{ leaseMs?: number }>('POST', 'register', status === 'online' ? { werker } : { werker, status }, opts);
    if (!answer || typeof answer.leaseMs !== 'number') throw new WerkerProtocolError(200, 'register: the server did not say its lease length (older than this werker?)');
    return { leaseMs: answer.leaseMs };
  }

  async claim(werker: WerkerInfo, waitMs: number, signal: AbortSignal): Promise<ClaimedBuild | null> {
    const wait = Math.min(Math.max(0, waitMs), MAX_CLAIM_WAIT_MS);
    let answer: LongPollAnswer;
    try {
      // The server answers by `wait`; the margin covers a slow claim transaction and the network.
      answer = await postLongPoll(`${this.base}${WERKER_API}/claim`, this.o.token, { werker, waitMs: wait }, signal, wait + 15_000, this.claimAgent);
    } catch (err) {
      if (signal.aborted) return null;
      throw new Error(`claim: server at ${this.base} not answering: ${describe(err)}`);
    }
    if (answer.status === 204) return null;
    if (answer.status === 200) return (answer.body as { claim: ClaimedBuild }).claim;
    const reason = (answer.body as { reason?: string } | null)?.reason ?? `status ${answer.status}`;
    if (answer.status === 401) throw new TokenRefusedError(`the server refused the werker token (${reason})`);
    throw new WerkerProtocolError(answer.status, `claim: ${answer.status} ${reason}`);
  }

  async renew(lease: Lease): Promise<RenewResult> {
    const answer = await this.call<RenewResult>('POST', 'renew', { lease }, { retryForMs: this.o.renewRetryForMs, timeoutMs: this.o.requestTimeoutMs });
    if (!answer) throw new WerkerProtocolError(204, 'renew: empty answer from the server');
    return answer;
  }

  async handBack(lease: Lease, requires: string[], reason: string): Promise<void> {
    await this.call('POST', 'hand-back', { lease, requires, reason }, this.retried());
  }

  async report(lease: Lease, report: AttemptReport): Promise<void> {
    const wire = reportToWire(report);
    if (!wire.stages && !wire.chunks && !wire.finish) return;
    await this.call('POST', 'report', { lease, ...wire }, this.retried());
  }

  private retried(): CallOptions {
    return { retryForMs: this.o.retryForMs, timeoutMs: this.o.requestTimeoutMs };
  }

  /** One protocol call: JSON in, JSON (or 204 → null) out, retried on transient failures within the budget. */
  private async call<T>(method: string, route: string, body: unknown, opts: CallOptions): Promise<T | null> {
    const url = `${this.base}${WERKER_API}/${route}`;
    const giveUpAt = Date.now() + opts.retryForMs;
    let delay = this.o.retryInitialMs;
    for (let tries = 1; ; tries++) {
      let transient: string;
      try {
        const res = await requestJson(url, {
          method,
          token: this.o.token,
          body,
          signal: opts.signal,
          timeoutMs: opts.timeoutMs,
          agent: this.agent,
        });
        if (res.status === 204) return null;
        if (res.status >= 200 && res.status < 300) return res.body as T;
        const answer = (res.body ?? {}) as { error?: string; reason?: string };
        const reason = answer.reason ?? `status ${res.status}`;
        if (res.status === 409 && answer.error === 'lease_lost') throw new LeaseLostError(reason);
        if (res.status === 401) throw new TokenRefusedError(`the server refused the werker token (${reason})`);
        if (res.status < 500) throw new WerkerProtocolError(res.status, `${route}: ${res.status} ${reason}`);
        transient = `${res.status} ${reason}`;
      } catch (err) {
        if (err instanceof LeaseLostError || err instanceof WerkerProtocolError || err instanceof TokenRefusedError) throw err;
        if (opts.signal?.aborted) throw err;
        transient = describe(err);
      }
      const left = giveUpAt - Date.now();
      if (left <= 0) throw new Error(`${route}: server at ${this.base} not answering after ${tries} tries: ${transient}`);
      // Full jitter: a random wait up to the current step, so a fleet of werkers spreads its reconnects.
      const wait = Math.min(left, Math.random() * delay);
      if (tries === 1 || tries % 10 === 0) this.o.log?.(`werker protocol: ${route} failed (${transient}); retrying`);
      await sleep(wait, opts.signal);
      delay = Math.min(this.o.retryMaxMs, delay * 2);
    }
  }
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const cause = err.cause instanceof Error ? `: ${(err.cause as Error & { code?: string }).code ?? err.cause.message}` : '';
    return `${err.name === 'TimeoutError' ? 'timed out' : err.message}${cause}`;
  }
  return String(err);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
