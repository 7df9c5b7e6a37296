/**
 * The claim long-poll: one JSON POST on a connection used for nothing else at the same time. Not fetch: when a
 * fetch is aborted, Node's fetch may keep the socket open for reuse, so the server never learns the werker stopped
 * waiting and can hand a build to nobody (it then sits until its lease expires and costs an attempt). Destroying
 * the socket is a signal the server (and any proxy in between) does see: the server hands the claim straight back.
 * A claim that was answered leaves its connection to the next claim (`agent`, keep-alive): a busy werker claims
 * once per build, and a new TCP connection each time was a cost on both ends.
 */
import http from 'node:http';
import https from 'node:https';

export interface LongPollAnswer {
  status: number;
  /** The parsed JSON answer; null when the body was empty or not JSON (never the raw text: it may be a page of HTML). */
  body: unknown;
  /** The status line's text ("Not Found"), and the media type without parameters ("text/html"); '' when absent. */
  statusText?: string;
  contentType?: string;
  /** The body was there and did not parse as JSON: not an Ocelot answer. */
  notJson?: boolean;
}

/** Header text from another server, for one log line: no control characters, at most `max` characters. */
function clip(text: string | undefined, max = 60): string {
  const clean = (text ?? '').replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
}

/**
 * What came back, in a few words for an error or a log line: the server's own reason when it gave one (Ocelot's
 * errors are JSON with a `reason`), else the status and the content type — never the body of somebody else's page.
 */
export function describeAnswer(a: LongPollAnswer): string {
  const reason = (a.body as { reason?: unknown } | null)?.reason;
  if (typeof reason === 'string') return `${a.status} ${reason}`;
  const status = `${a.status}${a.statusText ? ` ${a.statusText}` : ''}`;
  if (a.notJson) return `${status}, ${a.contentType || 'no content type'}, not JSON`;
  return a.body === null ? `${status}, empty answer` : `${status}, ${a.contentType || 'no content type'}`;
}

/** Whether the answer carries an Ocelot error (JSON with a `reason`), as opposed to a proxy's or another server's. */
export function isOcelotError(a: LongPollAnswer): boolean {
  return typeof (a.body as { reason?: unknown } | null)?.reason === 'string';
}

export function postLongPoll(url: string, token: string, body: unknown, signal: AbortSignal, timeoutMs: number, agent: http.Agent | false): Promise<LongPollAnswer> {
  return requestJson(url, { method: 'POST', token, body, signal, timeoutMs, agent });
}

export interface JsonRequest {
  method: string;
  token: string;
  body: unknown;
  signal?: AbortSignal;
  timeoutMs: number;
  /** A keep-alive agent, or false for a connection of its own. Either way an abort destroys the socket. */
  agent: http.Agent | false;
}

/**
 * One JSON request over node:http(s). The werker uses this rather than fetch for every protocol call: fetch's
 * client (undici) is several megabytes of an idle werker's memory, and this is all the protocol needs.
 */
export function requestJson(url: string, o: JsonRequest): Promise<LongPollAnswer> {
  const target = new URL(url);
  const { token, body, timeoutMs } = o;
  const signal = o.signal ?? new AbortController().signal;
  const send = target.protocol === 'https:' ? https.request : http.request;
  const payload = Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = send(
      target,
      {
        method: o.method,
        agent: o.agent,
        timeout: timeoutMs,
        // keep-alive, even on a connection of its own that is never reused: on a "Connection: close" request the
        // server stops reading the socket and would not notice the werker hanging up a long-poll.
        headers: { 'content-type': 'application/json', 'content-length': payload.byteLength, connection: 'keep-alive', authorization: `Bearer ${token}` },
      },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (d: Buffer) => parts.push(d));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(parts).toString('utf8');
          let parsed: unknown = null;
          let notJson = false;
          try {
            parsed = text ? JSON.parse(text) : null;
          } catch {
            notJson = true;
          }
          const contentType = clip(String(res.headers['content-type'] ?? '').split(';')[0]);
          resolve({ status: res.statusCode ?? 0, body: parsed, statusText: clip(res.statusMessage), contentType, notJson });
        });
      },
    );
    // Hang up explicitly (not via the `signal` option), and the socket with it: that is the whole point.
    const hangUp = () => {
      const err = new Error('request aborted');
      err.name = 'AbortError';
      req.destroy(err);
      req.socket?.destroy();
    };
    if (signal.aborted) return hangUp();
    signal.addEventListener('abort', hangUp, { once: true });
    const settle = () => signal.removeEventListener('abort', hangUp);
    req.on('close', settle);
    req.on('timeout', () => req.destroy(new Error(`no answer in ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}
