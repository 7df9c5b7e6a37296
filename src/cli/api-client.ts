/**
 * The CLI's only way to the server: the versioned REST API. OCELOT_SERVER and OCELOT_TOKEN configure it.
 */
import type { AttemptView, BuildView, StageView, WerkerTokenView, WerkerView } from '../server/views.js';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    cause?: unknown,
  ) {
    super(reason, cause === undefined ? undefined : { cause });
  }
}

export interface BuildDetail {
  build: BuildView;
  stages: StageView[];
  attempts: AttemptView[];
}

export class ApiClient {
  constructor(
    readonly server: string,
    private readonly token: string | undefined,
  ) {}

  static fromEnv(env: NodeJS.ProcessEnv = process.env): ApiClient {
    const server = (env.OCELOT_SERVER ?? 'http://127.0.0.1:8088').replace(/\/+$/, '');
    return new ApiClient(server, env.OCELOT_TOKEN);
  }

  private async request(method: string, path: string, body?: unknown, extra: { headers?: Record<string, string>; signal?: AbortSignal } = {}): Promise<Response> {
    let res: Response;
    try {
      res = await fetch(`${this.server}${path}`, {
        method,
        headers: {
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
          ...extra.headers,
        },
        body: body !== undefined ? JSON.stringify(body) : undefined,
        signal: extra.signal,
      });
    } catch (err) {
      const why = err instanceof Error && err.cause instanceof Error ? err.cause : err;
      const cause = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : '';
      throw new ApiError(0, `cannot reach the Ocelot server at ${this.server}${cause}. Is it running? Set OCELOT_SERVER to its URL.`, why);
    }
    if (!res.ok) {
      let reason = `${res.status} ${res.statusText}`;
      try {
        const j = (await res.json()) as { reason?: string };
        if (j.reason) reason = j.reason;
      } catch {
        /* not JSON */
      }
      throw new ApiError(res.status, reason);
    }
    return res;
  }

  async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    return (await (await this.request(method, path, body)).json()) as T;
  }

  listBuilds(q: { acctRepo?: string; account?: string; hash?: string; limit?: number }) {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(q)) if (v !== undefined) params.set(k, String(v));
    return this.json<{ builds: BuildView[] }>('GET', `/api/v1/builds?${params}`);
  }
  getBuild(id: number) {
    return this.json<BuildDetail>('GET', `/api/v1/builds/${id}`);
  }
  commits(prefix: string) {
    return this.json<{ commits: Array<{ commit: string; account: string; repo: string; forge: string }> }>('GET', `/api/v1/commits?prefix=${encodeURIComponent(prefix)}`);
  }
  trigger(body: { acctRepo: string; branch?: string; hash?: string; force?: boolean; keepContainer?: boolean; triggeredBy?: string }) {
    return this.json<{ build: BuildView }>('POST', '/api/v1/builds', body);
  }
  cancel(id: number, reason?: string) {
    return this.json<{ build: BuildView }>('POST', `/api/v1/builds/${id}/cancel`, { reason });
  }
  werkers() {
    return this.json<{ werkers: WerkerView[] }>('GET', '/api/v1/werkers');
  }
  createWerkerToken(name: string) {
    return this.json<{ id: number; name: string; token: string }>('POST', '/api/v1/werker-tokens', { name });
  }
  listWerkerTokens() {
    return this.json<{ tokens: WerkerTokenView[] }>('GET', '/api/v1/werker-tokens');
  }
  revokeWerkerToken(idOrName: string) {
    return this.json<{ revoked: WerkerTokenView[] }>('DELETE', `/api/v1/werker-tokens/${encodeURIComponent(idOrName)}`);
  }
  /** The raw log as a byte stream; with follow, it ends when the build does. */
  async logs(id: number, opts: { follow?: boolean; attempt?: number }): Promise<ReadableStream<Uint8Array>> {
    const params = new URLSearchParams();
    if (opts.follow) params.set('follow', '1');
    if (opts.attempt) params.set('attempt', String(opts.attempt));
    const res = await this.request('GET', `/api/v1/builds/${id}/logs?${params}`);
    if (!res.body) throw new ApiError(500, 'empty log response');
    return res.body;
  }
  /**
   * The log as server-sent events (`id: attempt:seq`), resumable: given the id of the last event received, the
   * server goes on right after it. `attempt` is the attempt the server started from (for a reconnect that got no
   * event yet). Used by `ocelot logs --follow` (cli/follow-logs.ts).
   */
  async logEvents(
    id: number,
    opts: { follow?: boolean; attempt?: number; lastEventId?: string; signal?: AbortSignal },
  ): Promise<{ body: ReadableStream<Uint8Array>; attempt: number | null }> {
    const params = new URLSearchParams();
    if (opts.follow) params.set('follow', '1');
    if (opts.attempt) params.set('attempt', String(opts.attempt));
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    if (opts.lastEventId) headers['last-event-id'] = opts.lastEventId;
    const res = await this.request('GET', `/api/v1/builds/${id}/logs?${params}`, undefined, { headers, signal: opts.signal });
    if (!res.body) throw new ApiError(500, 'empty log response');
    const attempt = Number(res.headers.get('x-ocelot-attempt'));
    return { body: res.body, attempt: Number.isInteger(attempt) && attempt > 0 ? attempt : null };
  }
}
