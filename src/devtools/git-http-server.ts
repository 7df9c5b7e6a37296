/**
 * A tiny read-only git smart-HTTP server: `git http-backend` behind node:http, as CGI.
 *
 * It serves every bare repository under `root` (GIT_HTTP_EXPORT_ALL) for fetch and clone, and refuses pushes.
 * The tests, the README demo and the benchmarks use it as "the forge's git server", so builds clone over real
 * HTTP exactly as they would from GitHub or Bitbucket. Bodies stream both ways; gzip request bodies (which git
 * sends for large negotiations) are passed through with their encoding for http-backend to inflate.
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

export interface GitHttpServerOptions {
  /** Directory holding bare repositories; `<url>/<name>.git` serves `<root>/<name>.git`. */
  root: string;
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
  /**
   * Speak only protocol v0, like older servers: commits that no branch or tag points at can then not be fetched
   * by id (what the werker's fallback path is for). Default false.
   */
  v0Only?: boolean;
}

export interface GitHttpServer {
  /** Base URL without a trailing slash, e.g. `http://127.0.0.1:41234`. */
  url: string;
  close(): Promise<void>;
}

export async function startGitHttpServer(opts: GitHttpServerOptions): Promise<GitHttpServer> {
  const root = path.resolve(opts.root);
  const host = opts.host ?? '127.0.0.1';
  const server = http.createServer((req, res) => serve(root, req, res, opts.v0Only ?? false));
  // Keep-alive connections from git would hold close() open; track sockets so close() ends them.
  const sockets = new Set<import('node:net').Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

function serve(root: string, req: http.IncomingMessage, res: http.ServerResponse, v0Only: boolean): void {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const service = url.searchParams.get('service') ?? path.posix.basename(url.pathname);
  // Read-only: http-backend would refuse anonymous pushes too, but say so plainly and early.
  if (service === 'git-receive-pack') {
    res.writeHead(403, { 'content-type': 'text/plain' }).end('this git server is read-only\n');
    req.resume();
    return;
  }
  if (req.method !== 'GET' && req.method !== 'POST' && req.method !== 'HEAD') {
    res.writeHead(405, { 'content-type': 'text/plain' }).end('method not allowed\n');
    req.resume();
    return;
  }

  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    GIT_PROJECT_ROOT: root,
    GIT_HTTP_EXPORT_ALL: '1',
    // CGI/1.1 request meta-variables http-backend reads.
    GATEWAY_INTERFACE: 'CGI/1.1',
    SERVER_PROTOCOL: `HTTP/${req.httpVersion}`,
    REQUEST_METHOD: req.method,
    PATH_INFO: decodeURIComponent(url.pathname),
    QUERY_STRING: url.search.slice(1),
    REMOTE_ADDR: req.socket.remoteAddress ?? '',
    CONTENT_TYPE: req.headers['content-type'] ?? '',
    // Without a length (chunked upload) http-backend reads the body until EOF.
    ...(req.headers['content-length'] ? { CONTENT_LENGTH: req.headers['content-length'] } : {}),
    // http-backend inflates gzip bodies itself when told about the encoding.
    ...(req.headers['content-encoding']
      ? { CONTENT_ENCODING: req.headers['content-encoding'], HTTP_CONTENT_ENCODING: req.headers['content-encoding'] }
      : {}),
    // Protocol v2 is negotiated through this header; without it clients silently fall back to v0.
    ...(req.headers['git-protocol'] && !v0Only ? { GIT_PROTOCOL: String(req.headers['git-protocol']), HTTP_GIT_PROTOCOL: String(req.headers['git-protocol']) } : {}),
    // Keep the host's own git configuration out of the served repositories' behaviour.
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    HOME: root,
  };

  const cgi = spawn('git', ['http-backend'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  cgi.stderr.setEncoding('utf8').on('data', (d: string) => {
    if (stderr.length < 4096) stderr += d;
  });
  cgi.on('error', (err) => {
    if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
    res.end(`git http-backend failed to start: ${err.message}\n`);
  });
  req.pipe(cgi.stdin);
  cgi.stdin.on('error', () => undefined); // http-backend may stop reading early (e.g. on an error reply)
  req.on('aborted', () => cgi.kill('SIGKILL'));
  res.on('close', () => {
    if (cgi.exitCode === null) cgi.kill('SIGKILL');
  });

  // CGI response: header lines, a blank line, then the body, which is streamed as it comes.
  let head = Buffer.alloc(0);
  let headerDone = false;
  cgi.stdout.on('data', (data: Buffer) => {
    if (headerDone) {
      if (!res.write(data)) {
        cgi.stdout.pause();
        res.once('drain', () => cgi.stdout.resume());
      }
      return;
    }
    head = Buffer.concat([head, data]);
    const end = findHeaderEnd(head);
    if (!end) return;
    headerDone = true;
    const { status, headers } = parseCgiHeaders(head.subarray(0, end.at).toString('latin1'));
    res.writeHead(status, headers);
    const rest = head.subarray(end.at + end.len);
    if (rest.length > 0) res.write(rest);
  });
  cgi.stdout.on('end', () => {
    if (!headerDone && !res.headersSent) {
      res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`git http-backend gave no response${stderr ? `: ${stderr.trim()}` : ''}\n`);
      return;
    }
    res.end();
  });
}

function findHeaderEnd(buf: Buffer): { at: number; len: number } | null {
  const crlf = buf.indexOf('\r\n\r\n');
  const lf = buf.indexOf('\n\n');
  if (crlf >= 0 && (lf < 0 || crlf < lf)) return { at: crlf, len: 4 };
  if (lf >= 0) return { at: lf, len: 2 };
  return null;
}

function parseCgiHeaders(text: string): { status: number; headers: Record<string, string> } {
  let status = 200;
  const headers: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10) || 200;
    else headers[name] = value;
  }
  return { status, headers };
}
