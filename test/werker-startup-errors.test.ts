/**
 * `ocelot werker` failing to start, as an operator sees it: the real binary against a real server (in-process
 * Fastify + SQLite), a URL where no Ocelot API is, a server that answers HTML, and a --server without a scheme.
 * Each failure is one line on stderr (no stack trace, never the token) and the exit status docs/deployment.md
 * gives: 3 token refused, 2 --server wrong, 1 no server answered. Giving up on an unreachable server takes a
 * minute in the binary, so that one and the 5xx retry log are checked on the real client with a short budget.
 */
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStore } from '../src/store/index.js';
import type { Store } from '../src/store/store.js';
import { serve, type Serving } from '../src/embedded/serve.js';
import { HttpWerkerClient, ServerUnreachableError } from '../src/werker/http-client.js';
import { explainWerkerStartError } from '../src/embedded/werker-start-errors.js';
import type { WerkerInfo } from '../src/werker/protocol.js';
import { ocelot } from './support/ocelot-process.js';

const TOKEN = 'ocw_not-a-real-token-9f8e7d';
const info: WerkerInfo = { id: 'w-start', name: 'w-start', tags: [], runtimes: ['host'], slots: 1, version: 'test' };
const HTML = `<!DOCTYPE html><html><head><title>Welcome to nginx!</title></head><body>${'<p>filler</p>'.repeat(100)}</body></html>`;

/** A web server that is not Ocelot: every request gets `status` and a page of HTML. */
function htmlServer(status: number): Promise<http.Server & { url: string }> {
  const s = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' }).end(HTML));
  });
  return new Promise((resolve) => s.listen(0, '127.0.0.1', () => resolve(Object.assign(s, { url: `http://127.0.0.1:${(s.address() as net.AddressInfo).port}` }))));
}

async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

describe('ocelot werker: start-up failures are one clear line with the documented exit status', () => {
  let tmp: string;
  let store: Store;
  let server: Serving;
  const pages: Array<http.Server & { url: string }> = [];

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ocelot-werker-start-'));
    store = await createStore({ url: `sqlite:${path.join(tmp, 'ocelot.db')}` });
    server = await serve({ store, port: 0, host: '127.0.0.1', webhookSecret: 'x', adminToken: 'start-admin', leaseMs: 5_000, maxAttempts: 2, privateReads: false, log: () => undefined });
  });
  afterAll(async () => {
    for (const p of pages) p.close();
    await server?.close();
    await store?.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  let n = 0;
  const werker = (serverUrl: string) =>
    ocelot(['werker', '--server', serverUrl, '--token', TOKEN, '--no-docker', '--work-dir', path.join(tmp, `w${n++}`)], { OCELOT_SERVER: '', OCELOT_WERKER_TOKEN: '' });

  /** The one line on stderr; nothing of a stack trace or the token anywhere. */
  function oneLine(r: { stdout: string; stderr: string }): string {
    const lines = r.stderr.trim().split('\n');
    expect(lines, r.stderr).toHaveLength(1);
    expect(r.stderr + r.stdout).not.toMatch(/^\s+at /m);
    expect(r.stderr + r.stdout).not.toContain(TOKEN);
    expect(lines[0]).toMatch(/^ocelot: /);
    return lines[0]!;
  }

  it('a refused token: exit 3, "the server refused the werker token", no TokenRefusedError stack', async () => {
    const r = await werker(server.url);
    expect(r.code, r.stderr).toBe(3);
    const line = oneLine(r);
    expect(line).toMatch(/^ocelot: the server refused the werker token \(this werker token is not valid.*Ask an admin for a new token/);
    expect(line).not.toContain('TokenRefusedError');
  });

  it('a URL where the API is not found: exit 2, says the URL does not answer as an Ocelot server', async () => {
    const r = await werker(`${server.url}/prefix`);
    expect(r.code, r.stderr).toBe(2);
    const line = oneLine(r);
    expect(line).toContain(`ocelot: ${server.url}/prefix does not answer as an Ocelot server: POST /prefix/api/v1/werker/register answered 404 Not Found`);
    expect(line).toContain('--server must be the URL');
    expect(line).not.toContain('WerkerProtocolError');
  });

  it('--server without a scheme: exit 2 at once with the expected form, no retrying', async () => {
    const port = new URL(server.url).port;
    const t0 = Date.now();
    const r = await werker(`127.0.0.1:${port}`);
    expect(r.code, r.stderr).toBe(2);
    const line = oneLine(r);
    expect(line).toBe(
      `ocelot: --server '127.0.0.1:${port}' is not an http:// or https:// URL; give the server's URL with its scheme, like --server https://ci.example.com or --server http://127.0.0.1:8088`,
    );
    expect(r.stdout).not.toContain('retrying');
    expect(Date.now() - t0).toBeLessThan(10_000);
    // A scheme that is not http(s) is refused the same way.
    const ftp = await werker(`ftp://127.0.0.1:${port}`);
    expect(ftp.code).toBe(2);
    expect(oneLine(ftp)).toContain('is not an http:// or https:// URL');
  });

  it('a web server answering HTML (404, or 200): exit 2 with its status and content type, not the page', async () => {
    for (const status of [404, 200]) {
      const page = await htmlServer(status);
      pages.push(page);
      const r = await werker(page.url);
      expect(r.code, r.stderr).toBe(2);
      const line = oneLine(r);
      expect(line).toContain(`${page.url} does not answer as an Ocelot server: POST /api/v1/werker/register answered ${status} ${status === 404 ? 'Not Found' : 'OK'}, text/html, not JSON.`);
      expect(r.stderr + r.stdout).not.toMatch(/<|nginx|filler/);
    }
  });

  it('a 5xx page while retrying is logged as status and content type; giving up is one line (exit 1)', async () => {
    const page = await htmlServer(502);
    pages.push(page);
    const logged: string[] = [];
    const client = new HttpWerkerClient({ server: page.url, token: TOKEN, retryForMs: 400, retryInitialMs: 20, log: (m) => logged.push(m) });
    const err = await client.register(info).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ServerUnreachableError);
    expect(logged[0]).toBe('werker protocol: register failed (502 Bad Gateway, text/html, not JSON); retrying');
    expect(logged.join('\n')).not.toMatch(/<|nginx/);
    const failure = explainWerkerStartError(err, page.url)!;
    expect(failure.exitCode).toBe(1);
    expect(failure.message).toMatch(new RegExp(`^gave up registering with ${page.url} after 0 s and \\d+ tries \\(last: 502 Bad Gateway, text/html, not JSON\\); check --server and that the server is up$`));
  });

  it('an unreachable server: retried within the budget, then one line naming the URL (exit 1), never the token', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const logged: string[] = [];
    const client = new HttpWerkerClient({ server: url, token: TOKEN, retryForMs: 500, retryInitialMs: 20, log: (m) => logged.push(m) });
    const err = await client.register(info).catch((e: unknown) => e);
    expect(logged[0]).toMatch(/^werker protocol: register failed \(connect ECONNREFUSED .*\); retrying$/);
    const failure = explainWerkerStartError(err, url)!;
    expect(failure.exitCode).toBe(1);
    expect(failure.message).toMatch(new RegExp(`^gave up registering with ${url} after \\d+ s and \\d+ tries \\(last: connect ECONNREFUSED [^)]*\\); check --server and that the server is up$`));
    expect(failure.message).not.toContain(TOKEN);
    // A password in the server URL (a proxy's basic auth) is masked as well.
    const withPassword = new HttpWerkerClient({ server: url.replace('//', '//ops:ProxyPw1@'), token: TOKEN, retryForMs: 100, retryInitialMs: 20 });
    const masked = explainWerkerStartError(await withPassword.register(info).catch((e: unknown) => e), url.replace('//', '//ops:ProxyPw1@'))!;
    expect(masked.message).toContain(`gave up registering with ${url.replace('//', '//ops:***@')} after`);
    expect(masked.message).not.toContain('ProxyPw1');
  });
});
