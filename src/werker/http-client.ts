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
 * 409 `lease_lost` becomes LeaseLostError; 401 becomes TokenRefusedError and 409 `werker_id_taken` (the id is
 * another live token's) WerkerIdTakenError, never retried (neither heals by waiting: the werker stops).
 */
import {
  LeaseLostError,
  TokenRefusedError,
  WerkerIdTakenError,
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
import { describeAnswer, isOcelotError, postLongPoll, requestJson, type LongPollAnswer } from './long-poll.js';

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
    /**
     * Whether the answer came from an Ocelot server (an Ocelot error: JSON with a reason), or from something else at
     * that URL (a 404 page, a proxy's HTML, JSON without the protocol's fields): then the URL is the problem.
     */
    readonly fromOcelot = true,
    /** The answer in a few words (status, content type): what to show when it was not Ocelot's. */
    readonly answer = '',
  ) {
    super(message);
  }
}

/** Retried calls that never got an answer within their budget: no server at that URL, or not for that long. */
export class ServerUnreachableError extends Error {
  override name = 'ServerUnreachableError';
  constructor(
    message: string,
    /** The server's URL as shown (credentials in it masked). */
    readonly server: string,
    readonly tries: number,
    readonly forMs: number,
    /** The last failure: a connection error, a timeout, a 5xx answer. */
    readonly lastFailure: string,
  ) {
    super(message);
  }
}

/** The server URL as printed: a password in it (`https://user:pw@proxy`) is masked. Never the token: it is a header. */
export function shownServerUrl(server: string): string {
  try {
    const u = new URL(server);
    if (u.password) u.password = '***';
    return u.toString().replace(/\/+$/, '');
  } catch {
    return server.replace(/^[^/]*@|\/\/[^/]*@/, (m) => (m.startsWith('//') ? '//***@' : '***@'));
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

  /** `base` as printed in messages: credentials masked. */
  private readonly shown: string;

  constructor(opts: HttpWerkerClientOptions) {
    this.base = opts.server.replace(/\/+$/, '');
    this.shown = shownServerUrl(this.base);
    // Checked here, not on the first request: an unusable URL would otherwise be "retried" as a transient failure.
    let protocol: string | undefined;
    try {
      protocol = new URL(this.base).protocol;
    } catch {
      protocol = undefined;
    }
    if (protocol !== 'http:' && protocol !== 'https:') throw new TypeError(`the server URL must be an http:// or https:// URL, got '${this.shown}'`);
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
    const answer = await this.call<{ ok?: unknown; leaseMs?: number }>('POST', 'register', status === 'online' ? { werker } : { werker, status }, opts);
    if (!answer || typeof answer.leaseMs !== 'number') {
      // An Ocelot server says `ok`; anything else that answers 2xx (a web server's page as JSON) is not one.
      if (answer && typeof answer === 'object' && answer.ok === true) throw new WerkerProtocolError(200, 'register: the server did not say its lease length (older than this werker?)');
      throw new WerkerProtocolError(200, 'register: the answer is not an Ocelot werker protocol answer', false, `200, JSON without the protocol's fields`);
    }
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
      throw new Error(`claim: server at ${this.shown} not answering: ${describe(err)}`);
    }
    if (answer.status === 204) return null;
    const claim = (answer.body as { claim?: ClaimedBuild } | null)?.claim;
    if (answer.status === 200 && claim) return claim;
    if (answer.status === 401) throw new TokenRefusedError(`the server refused the werker token (${refusal(answer)})`);
    if (answer.status === 409 && isOcelotError(answer) && (answer.body as { error?: string }).error === 'werker_id_taken') {
      throw new WerkerIdTakenError(werker.id, (answer.body as { reason: string }).reason);
    }
    throw new WerkerProtocolError(answer.status, `claim: ${describeAnswer(answer)}`, isOcelotError(answer), describeAnswer(answer));
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
        // A 2xx page of HTML is somebody else's server (or a proxy's login page), not an answer to this call.
        if (res.status >= 200 && res.status < 300 && !res.notJson) return res.body as T;
        const answer = (res.body ?? {}) as { error?: string; reason?: string };
        if (res.status === 409 && answer.error === 'lease_lost') throw new LeaseLostError(answer.reason ?? describeAnswer(res));
        if (res.status === 401) throw new TokenRefusedError(`the server refused the werker token (${refusal(res)})`);
        // This werker's id belongs to another live token: not healed by waiting either.
        if (res.status === 409 && answer.error === 'werker_id_taken') throw new WerkerIdTakenError(werkerIdOf(body), answer.reason ?? describeAnswer(res));
        if (res.status < 500) throw new WerkerProtocolError(res.status, `${route}: ${describeAnswer(res)}`, isOcelotError(res), describeAnswer(res));
        transient = describeAnswer(res);
      } catch (err) {
        if (err instanceof LeaseLostError || err instanceof WerkerProtocolError || err instanceof TokenRefusedError || err instanceof WerkerIdTakenError) throw err;
        if (opts.signal?.aborted) throw err;
        transient = describe(err);
      }
      const left = giveUpAt - Date.now();
      if (left <= 0) {
        throw new ServerUnreachableError(`${route}: server at ${this.shown} not answering after ${tries} tries: ${transient}`, this.shown, tries, opts.retryForMs, transient);
      }
      // Full jitter: a random wait up to the current step, so a fleet of werkers spreads its reconnects.
      const wait = Math.min(left, Math.random() * delay);
      if (tries === 1 || tries % 10 === 0) this.o.log?.(`werker protocol: ${route} failed (${transient}); retrying`);
      await sleep(wait, opts.signal);
      delay = Math.min(this.o.retryMaxMs, delay * 2);
    }
  }
}

/** Why a 401 came back: Ocelot says (revoked, missing); anything else at that URL gets its status and content type. */
function refusal(a: LongPollAnswer): string {
  return isOcelotError(a) ? (a.body as { reason: string }).reason : describeAnswer(a);
}

function werkerIdOf(body: unknown): string {
  return (body as { werker?: { id?: string } } | null)?.werker?.id ?? '';
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
