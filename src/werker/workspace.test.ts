import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startGitHttpServer, type GitHttpServer } from '../devtools/git-http-server.js';
import { addCommit, createTestRepo, type TestRepo } from '../devtools/test-repo.js';
import type { StageOutput } from '../runtimes/runtime.js';
import { prepareWorkspace, WorkspaceError, type PrepareWorkspaceOptions } from './workspace.js';

let tmp: string;
let repo: TestRepo;
let server: GitHttpServer;
let v0Server: GitHttpServer;
let featureCommit: string;
let n = 0;
let log = '';

const output: StageOutput = { fd: -1, write: (d) => void (log += Buffer.from(d).toString()) };

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ocelot-ws-'));
  const root = path.join(tmp, 'git');
  repo = await createTestRepo(root, { 'README.md': 'one\n', 'ocelot.yml': 'stages: []\n' });
  await addCommit(repo, { 'README.md': 'two\n' });
  await addCommit(repo, { 'README.md': 'three\n' });
  featureCommit = await addCommit(repo, { 'feature.txt': 'f\n' }, { branch: 'feature/x' });
  server = await startGitHttpServer({ root });
  v0Server = await startGitHttpServer({ root, v0Only: true });
});

afterAll(async () => {
  await server?.close();
  await v0Server?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

beforeEach(() => {
  log = '';
});

function prepare(extra: Partial<PrepareWorkspaceOptions>) {
  const dir = path.join(tmp, 'ws', String(++n));
  const result = prepareWorkspace({
    cloneUrl: `${server.url}/repo.git`,
    commit: repo.commits[2]!,
    branch: 'main',
    dir,
    output,
    signal: new AbortController().signal,
    ...extra,
  });
  return { dir, result };
}

function git(dir: string, ...args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile('git', args, { cwd: dir }, (err, out, errOut) => (err ? reject(new Error(errOut)) : resolve(out.trim()))),
  );
}

describe('prepareWorkspace', () => {
  it('checks out the exact commit, detached, shallow, even when the branch has moved on', async () => {
    const { dir, result } = prepare({ commit: repo.commits[1]! });
    expect(await result).toEqual({ commit: repo.commits[1] });
    expect(await git(dir, 'rev-parse', 'HEAD')).toBe(repo.commits[1]);
    expect(fs.readFileSync(path.join(dir, 'README.md'), 'utf8')).toBe('two\n');
    expect(await git(dir, 'status', '--porcelain')).toBe('');
    expect(await git(dir, 'rev-parse', '--is-shallow-repository')).toBe('false'); // depth 50 > 2 commits of history
    expect(await git(dir, 'rev-parse', 'origin/main')).toBe(repo.commits[1]);
    expect(await git(dir, 'remote', 'get-url', 'origin')).toBe(`${server.url}/repo.git`);
    expect(log).toContain(`$ git fetch --no-tags --no-recurse-submodules --depth=50 origin ${repo.commits[1]}:refs/remotes/origin/main\n`);
    expect(log).toContain(`HEAD is now at ${repo.commits[1]}`);
  });

  it('honours depth (1 = shallow, 0 = full history)', async () => {
    const shallow = prepare({ depth: 1 });
    await shallow.result;
    expect(await git(shallow.dir, 'rev-list', '--count', 'HEAD')).toBe('1');
    const full = prepare({ depth: 0 });
    await full.result;
    expect(await git(full.dir, 'rev-list', '--count', 'HEAD')).toBe('3');
    expect(await git(full.dir, 'rev-parse', '--is-shallow-repository')).toBe('false');
  });

  it('resolves a 12-character abbreviation against the fetched branch', async () => {
    const { dir, result } = prepare({ commit: featureCommit.slice(0, 12).toUpperCase(), branch: 'feature/x' });
    expect(await result).toEqual({ commit: featureCommit });
    expect(fs.readFileSync(path.join(dir, 'feature.txt'), 'utf8')).toBe('f\n');
  });

  it('finds an abbreviation on another branch than the one named, and without a branch', async () => {
    expect(await prepare({ commit: featureCommit.slice(0, 12), branch: 'main' }).result).toEqual({ commit: featureCommit });
    expect(await prepare({ commit: featureCommit.slice(0, 12), branch: null }).result).toEqual({ commit: featureCommit });
  });

  it('fails clearly when an abbreviation matches nothing', async () => {
    await expect(prepare({ commit: 'abcdef012345' }).result).rejects.toThrow(
      `commit abcdef012345 was not found in ${server.url}/repo.git (fetched branch main and all other branches)`,
    );
  });

  it('falls back to fetching branches when the server refuses unadvertised commits', async () => {
    const url = `${v0Server.url}/repo.git`;
    const { dir, result } = prepare({ cloneUrl: url, commit: repo.commits[0]! });
    expect(await result).toEqual({ commit: repo.commits[0] });
    expect(await git(dir, 'rev-parse', 'HEAD')).toBe(repo.commits[0]);
    expect(log).toContain('does not serve commits by id');
    // Older than the depth: the full history of every branch is fetched.
    const deep = prepare({ cloneUrl: url, commit: repo.commits[0]!, depth: 1 });
    expect(await deep.result).toEqual({ commit: repo.commits[0] });
  });

  it("fails with git's own error for a missing repository", async () => {
    const err = await prepare({ cloneUrl: `${server.url}/nope.git` }).result.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkspaceError);
    expect((err as Error).message).toBe(`git fetch failed: fatal: repository '${server.url}/nope.git/' not found`);
    expect(log).toContain('not found');
  });

  it('fails for a commit the repository does not have', async () => {
    await expect(prepare({ commit: 'f'.repeat(40) }).result).rejects.toThrow(/commit f{40} was not found/);
  });

  it('never prints or keeps credentials from the clone URL', async () => {
    const withCreds = server.url.replace('http://', 'http://robot:s3cret-token@');
    const ok = prepare({ cloneUrl: `${withCreds}/repo.git` });
    await ok.result;
    expect(log).not.toContain('s3cret-token');
    expect(fs.readFileSync(path.join(ok.dir, '.git', 'config'), 'utf8')).not.toContain('s3cret-token');

    log = '';
    const err = await prepare({ cloneUrl: `${withCreds}/nope.git` }).result.catch((e: Error) => e);
    expect((err as Error).message).toMatch(/^git fetch failed: fatal: repository '.*nope\.git\/' not found$/);
    expect((err as Error).message).not.toContain('s3cret-token');
    expect(log).not.toContain('s3cret-token');
  });

  it('fails at once on a private repository instead of prompting', async () => {
    const auth = http.createServer((req, res) => {
      req.resume();
      res.writeHead(401, { 'www-authenticate': 'Basic realm="private"' }).end();
    });
    await new Promise<void>((r) => auth.listen(0, '127.0.0.1', r));
    try {
      const t0 = Date.now();
      const err = await prepare({ cloneUrl: `http://127.0.0.1:${(auth.address() as AddressInfo).port}/private.git` }).result.catch((e: Error) => e);
      expect(err).toBeInstanceOf(WorkspaceError);
      expect((err as Error).message).toMatch(/^git fetch failed: .*(terminal prompts disabled|Authentication failed)/);
      expect(Date.now() - t0).toBeLessThan(5_000);
    } finally {
      auth.close();
    }
  });

  it('stops git when cancelled, leaving no git process behind', async () => {
    const hang = http.createServer(() => undefined); // accepts, never answers
    await new Promise<void>((r) => hang.listen(0, '127.0.0.1', r));
    const port = (hang.address() as AddressInfo).port;
    const ac = new AbortController();
    try {
      const { result } = prepare({ cloneUrl: `http://127.0.0.1:${port}/slow.git`, signal: ac.signal });
      await waitFor(async () => (await gitProcessesFor(port)) > 0);
      const t0 = Date.now();
      ac.abort();
      await expect(result).rejects.toThrow('cancelled while preparing the workspace');
      expect(Date.now() - t0).toBeLessThan(3_000);
      await waitFor(async () => (await gitProcessesFor(port)) === 0);
    } finally {
      hang.closeAllConnections();
      hang.close();
    }
  });

  it('refuses a directory that is not empty, and ids that are not commit ids', async () => {
    const dir = path.join(tmp, 'busy');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'x'), '');
    await expect(prepare({ dir }).result).rejects.toThrow(`workspace directory ${dir} is not empty`);
    await expect(prepare({ commit: 'main; rm -rf /' }).result).rejects.toThrow('is not a commit id');
  });
  // Speed (pickup → first command) is a figure, measured by bench/pickup.mjs, not asserted in a unit test.
});

function gitProcessesFor(port: number): Promise<number> {
  return new Promise((resolve) =>
    execFile('ps', ['-e', '-o', 'stat=,args='], (_e, out) =>
      resolve(out.split('\n').filter((l) => !l.startsWith('Z') && l.includes(`127.0.0.1:${port}`)).length),
    ),
  );
}

async function waitFor(cond: () => Promise<boolean>, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('the werker repository cache', () => {
  it('fetches a commit once; later workspaces of it are cloned from the cache, complete, with the real origin', async () => {
    const cacheDir = path.join(tmp, 'cache-a');
    const root = path.join(tmp, 'cache-git');
    const own = await createTestRepo(root, { 'a.txt': 'a\n' }, { name: 'c' });
    const second = await addCommit(own, { 'b.txt': 'b\n' });
    const git2 = await startGitHttpServer({ root });
    const cloneUrl = `${git2.url}/c.git`;
    const first = prepare({ cloneUrl, commit: second, cacheDir });
    await expect(first.result).resolves.toEqual({ commit: second });
    expect(fs.readFileSync(path.join(first.dir, 'b.txt'), 'utf8')).toBe('b\n');
    // The git server is gone: only the cache can serve the next workspace.
    await git2.close();
    log = '';
    const again = prepare({ cloneUrl, commit: second, cacheDir });
    await expect(again.result).resolves.toEqual({ commit: second });
    expect(log).toContain('is in this werker\'s repository cache');
    expect(await git(again.dir, 'rev-parse', 'HEAD')).toBe(second);
    expect(await git(again.dir, 'log', '--format=%s')).toContain('initial commit'); // history is there
    expect(await git(again.dir, 'config', 'remote.origin.url')).toBe(cloneUrl);
    // A complete repository of its own (no alternates into the cache): it works when mounted elsewhere.
    expect(fs.existsSync(path.join(again.dir, '.git', 'objects', 'info', 'alternates'))).toBe(false);
    // Laid out by hand from the cache, it is still a sound repository with a clean checkout.
    await git(again.dir, 'fsck', '--no-progress', '--no-dangling');
    expect(await git(again.dir, 'status', '--porcelain')).toBe('');
    expect(await git(again.dir, 'rev-parse', '--abbrev-ref', 'HEAD')).toBe('HEAD'); // detached, as a build expects
    // What build scripts do with their checkout works on the minimal layout: branch, tag, commit.
    await git(again.dir, 'checkout', '-q', '-b', 'scratch');
    await git(again.dir, 'checkout', '-q', '-'); // needs the reflog, as in any clone
    await git(again.dir, 'checkout', '-q', 'scratch');
    await git(again.dir, 'tag', 'v-test');
    fs.writeFileSync(path.join(again.dir, 'c.txt'), 'c\n');
    await git(again.dir, 'add', 'c.txt');
    await git(again.dir, '-c', 'user.email=ci@example.com', '-c', 'user.name=ci', 'commit', '-q', '-m', 'made by a build');
    expect(await git(again.dir, 'log', '-1', '--format=%s', 'scratch')).toBe('made by a build');
    expect(await git(again.dir, 'rev-parse', 'v-test')).toBe(second);
    // Removing the cache leaves it whole: its objects are its own (hard links), not borrowed.
    fs.rmSync(cacheDir, { recursive: true, force: true });
    await git(again.dir, 'fsck', '--no-progress', '--no-dangling');
    expect(await git(again.dir, 'show', '--format=%s', '-s', `${second}~1`)).toBe('initial commit');
  });

  it('many fetched commits stay a few packs in the cache, and every workspace of them is sound', async () => {
    const cacheDir = path.join(tmp, 'cache-e');
    const root = path.join(tmp, 'cache-git-e');
    const own = await createTestRepo(root, { 'n.txt': '0\n' }, { name: 'e' });
    const git3 = await startGitHttpServer({ root });
    try {
      const cloneUrl = `${git3.url}/e.git`;
      let last = '';
      for (let i = 1; i <= 20; i++) {
        last = await addCommit(own, { 'n.txt': `${i}\n` });
        const ws = prepare({ cloneUrl, commit: last, cacheDir });
        await expect(ws.result).resolves.toEqual({ commit: last });
        expect(fs.readFileSync(path.join(ws.dir, 'n.txt'), 'utf8')).toBe(`${i}\n`);
      }
      const cache = fs.readdirSync(cacheDir).find((d) => d.endsWith('.git'))!;
      const packs = fs.readdirSync(path.join(cacheDir, cache, 'objects', 'pack')).filter((f) => f.endsWith('.pack'));
      expect(packs.length).toBeLessThanOrEqual(17);
      const ws = prepare({ cloneUrl, commit: last, cacheDir });
      await expect(ws.result).resolves.toEqual({ commit: last });
      await git(ws.dir, 'fsck', '--no-progress', '--no-dangling');
      expect((await git(ws.dir, 'log', '--format=%H')).split('\n')).toHaveLength(21);
    } finally {
      await git3.close();
    }
  });

  it('a cache deleted under a running werker costs one direct fetch, then fills again', async () => {
    const cacheDir = path.join(tmp, 'cache-d');
    const first = prepare({ cacheDir });
    await expect(first.result).resolves.toEqual({ commit: repo.commits[2] });
    fs.rmSync(cacheDir, { recursive: true, force: true });
    log = '';
    const afterDelete = prepare({ cacheDir });
    await expect(afterDelete.result).resolves.toEqual({ commit: repo.commits[2] });
    expect(log).toContain('fetching it directly');
    expect(await git(afterDelete.dir, 'rev-parse', 'HEAD')).toBe(repo.commits[2]);
    log = '';
    const refilled = prepare({ cacheDir });
    await expect(refilled.result).resolves.toEqual({ commit: repo.commits[2] });
    expect(log).not.toContain('fetching it directly');
    expect(fs.existsSync(cacheDir)).toBe(true);
  });

  it('falls back to the plain fetch when the cache cannot serve, and never caches a URL with credentials', async () => {
    const cacheDir = path.join(tmp, 'cache-b');
    fs.mkdirSync(cacheDir, { recursive: true });
    // A file where the cache's directory would go: the cache path fails, the build still gets its workspace.
    fs.writeFileSync(path.join(cacheDir, 'not-a-dir'), 'x');
    const blocked = prepare({ cacheDir: path.join(cacheDir, 'not-a-dir') });
    await expect(blocked.result).resolves.toEqual({ commit: repo.commits[2] });
    expect(log).toContain('fetching it directly');
    const withToken = prepare({ cloneUrl: `${server.url.replace('http://', 'http://user:secret@')}/repo.git`, cacheDir: path.join(tmp, 'cache-c') });
    await expect(withToken.result).resolves.toEqual({ commit: repo.commits[2] });
    expect(fs.existsSync(path.join(tmp, 'cache-c'))).toBe(false);
  });
});
