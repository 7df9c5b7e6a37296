import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGitHttpServer, type GitHttpServer } from './git-http-server.js';
import { addCommit, createTestRepo, type TestRepo } from './test-repo.js';

let tmp: string;
let repo: TestRepo;
let server: GitHttpServer;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ocelot-githttp-'));
  repo = await createTestRepo(path.join(tmp, 'root'), { 'a.txt': 'a\n' }, { name: 'demo' });
  await addCommit(repo, { 'b.txt': 'b\n', 'a.txt': null }, { message: 'second', tag: 'v1.0.0' });
  server = await startGitHttpServer({ root: path.join(tmp, 'root') });
});

afterAll(async () => {
  await server?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

function git(args: string[], cwd = tmp): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) =>
    execFile('git', args, { cwd, env: { ...process.env, GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' } }, (e, out, err) =>
      resolve({ code: e ? ((e as { code?: number }).code ?? 1) : 0, out: out.trim(), err: err.trim() }),
    ),
  );
}

function post(url: string, body: Buffer, headers: Record<string, string>): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const pkt = (s: string) => (s.length + 4).toString(16).padStart(4, '0') + s;

describe('git smart-HTTP dev server', () => {
  it('serves clones over protocol v2 and v0', async () => {
    for (const version of ['2', '0']) {
      const dest = path.join(tmp, `clone-v${version}`);
      const r = await git(['-c', `protocol.version=${version}`, 'clone', '-q', `${server.url}/demo.git`, dest]);
      expect(r.err).toBe('');
      expect((await git(['rev-parse', 'HEAD'], dest)).out).toBe(repo.commits[1]);
      expect(fs.readFileSync(path.join(dest, 'b.txt'), 'utf8')).toBe('b\n');
      expect(fs.existsSync(path.join(dest, 'a.txt'))).toBe(false);
    }
    const refs = (await git(['ls-remote', `${server.url}/demo.git`])).out;
    expect(refs).toContain(`${repo.commits[1]}\trefs/heads/main`);
    expect(refs).toContain(`${repo.commits[1]}\trefs/tags/v1.0.0`);
  });

  it('answers 404 for unknown repositories and refuses pushes', async () => {
    const missing = await git(['ls-remote', `${server.url}/nope.git`]);
    expect(missing.code).not.toBe(0);
    expect(missing.err).toContain('not found');

    const work = path.join(tmp, 'clone-v2');
    await git(['-c', 'user.name=x', '-c', 'user.email=x@x', 'commit', '-q', '--allow-empty', '-m', 'push me'], work);
    const push = await git(['push', 'origin', 'HEAD:refs/heads/pushed'], work);
    expect(push.code).not.toBe(0);
    expect(push.err).toMatch(/403|read-only/);
  });

  it('inflates gzip request bodies', async () => {
    const body = pkt(`want ${repo.commits[1]} no-progress\n`) + '0000' + pkt('done\n');
    const r = await post(`${server.url}/demo.git/git-upload-pack`, gzipSync(body), {
      'content-type': 'application/x-git-upload-pack-request',
      'content-encoding': 'gzip',
    });
    expect(r.status).toBe(200);
    expect(r.body.includes('PACK')).toBe(true);
  });

  it('streams large repositories', async () => {
    const big = await createTestRepo(path.join(tmp, 'root'), { 'big.bin': randomText(8 * 1024 * 1024) }, { name: 'big' });
    const dest = path.join(tmp, 'clone-big');
    const r = await git(['clone', '-q', `${server.url}/big.git`, dest]);
    expect(r.err).toBe('');
    expect((await git(['rev-parse', 'HEAD'], dest)).out).toBe(big.commits[0]);
    expect(fs.statSync(path.join(dest, 'big.bin')).size).toBe(8 * 1024 * 1024);
  });
});

describe('test repositories', () => {
  it('are deterministic: the same files give the same commit ids', async () => {
    const a = await createTestRepo(path.join(tmp, 'det-a'), { 'x.txt': 'x\n' });
    const b = await createTestRepo(path.join(tmp, 'det-b'), { 'x.txt': 'x\n' });
    await addCommit(a, { 'y.txt': 'y\n' });
    await addCommit(b, { 'y.txt': 'y\n' });
    expect(a.commits).toEqual(b.commits);
    expect(a.commits).toHaveLength(2);
    const branchCommit = await addCommit(a, { 'z.txt': 'z\n' }, { branch: 'topic' });
    expect((await git(['rev-parse', 'refs/heads/topic'], a.bareDir)).out).toBe(branchCommit);
    expect((await git(['rev-parse', 'refs/heads/main'], a.bareDir)).out).toBe(a.commits[1]);
  });
});

/** Incompressible-ish content so the pack really is large. */
function randomText(bytes: number): string {
  let s = '';
  let x = 12345;
  const chars = 'abcdefghijklmnopqrstuvwxyz0123456789';
  while (s.length < bytes) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    s += chars[x % chars.length];
  }
  return s;
}
