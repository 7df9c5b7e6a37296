/**
 * Real git repositories for tests, the demo and benchmarks: a bare repository (what a git server serves) plus
 * a work tree to make commits in. Author, committer and dates are fixed and advance one minute per commit, so
 * the same files give the same commit ids on every machine and run.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';

export interface TestRepo {
  /** The bare repository, `<dir>/<name>.git`: serve `dir` with startGitHttpServer and clone `<url>/<name>.git`. */
  bareDir: string;
  /** Work tree used to make commits (`<dir>/<name>.work`). */
  workDir: string;
  /** Branch the commits go to. */
  branch: string;
  /** Full commit ids, oldest first. */
  commits: string[];
}

export interface TestRepoOptions {
  /** Repository name; default `repo`. */
  name?: string;
  /** Default `main`. */
  branch?: string;
  /** Message of the first commit. */
  message?: string;
}

export interface CommitOptions {
  message?: string;
  /** Commit on this branch (created from the current commit if new); default the repo's branch. */
  branch?: string;
  /** Also create (or move) this lightweight tag to the new commit. */
  tag?: string;
}

const BASE_TIME = Date.UTC(2024, 0, 1) / 1000;

export async function createTestRepo(dir: string, files: Record<string, string>, opts: TestRepoOptions = {}): Promise<TestRepo> {
  const name = opts.name ?? 'repo';
  const branch = opts.branch ?? 'main';
  const repo: TestRepo = {
    bareDir: path.join(dir, `${name}.git`),
    workDir: path.join(dir, `${name}.work`),
    branch,
    commits: [],
  };
  await fs.mkdir(dir, { recursive: true });
  await git(dir, ['init', '-q', '--bare', `--initial-branch=${branch}`, repo.bareDir]);
  await git(dir, ['init', '-q', `--initial-branch=${branch}`, repo.workDir]);
  await git(repo.workDir, ['remote', 'add', 'origin', repo.bareDir]);
  await addCommit(repo, files, { message: opts.message ?? 'initial commit' });
  return repo;
}

/**
 * Write (or, with null, delete) files, commit them and push to the bare repository. Returns the full commit id,
 * which is also appended to `repo.commits`.
 */
export async function addCommit(repo: TestRepo, files: Record<string, string | null>, opts: CommitOptions = {}): Promise<string> {
  const branch = opts.branch ?? repo.branch;
  const current = (await git(repo.workDir, ['symbolic-ref', '--short', 'HEAD'])).trim();
  if (current !== branch) {
    const exists = await git(repo.workDir, ['rev-parse', '--verify', '--quiet', `refs/heads/${branch}`]).then(
      () => true,
      () => false,
    );
    await git(repo.workDir, exists ? ['checkout', '-q', branch] : ['checkout', '-q', '-b', branch]);
  }
  for (const [file, content] of Object.entries(files)) {
    const full = path.join(repo.workDir, file);
    if (content === null) {
      await fs.rm(full, { force: true });
    } else {
      await fs.mkdir(path.dirname(full), { recursive: true });
      await fs.writeFile(full, content);
    }
  }
  await git(repo.workDir, ['add', '-A']);
  const n = repo.commits.length;
  await git(repo.workDir, ['commit', '-q', '--allow-empty', '-m', opts.message ?? `commit ${n + 1}`], dateEnv(n));
  const sha = (await git(repo.workDir, ['rev-parse', 'HEAD'])).trim();
  if (opts.tag) await git(repo.workDir, ['tag', '-f', opts.tag]);
  await git(repo.workDir, ['push', '-q', '--force', 'origin', `${branch}:refs/heads/${branch}`, ...(opts.tag ? [`refs/tags/${opts.tag}`] : [])]);
  repo.commits.push(sha);
  return sha;
}

function dateEnv(n: number): NodeJS.ProcessEnv {
  const date = `@${BASE_TIME + n * 60} +0000`;
  return { GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date };
}

/** Git with a fixed identity and none of the machine's own configuration (hooks, signing, templates). */
function git(cwd: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<string> {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: cwd,
    LC_ALL: 'C',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_AUTHOR_NAME: 'Ocelot Test',
    GIT_AUTHOR_EMAIL: 'test@ocelot.invalid',
    GIT_COMMITTER_NAME: 'Ocelot Test',
    GIT_COMMITTER_EMAIL: 'test@ocelot.invalid',
    GIT_AUTHOR_DATE: `@${BASE_TIME} +0000`,
    GIT_COMMITTER_DATE: `@${BASE_TIME} +0000`,
    ...extraEnv,
  };
  return new Promise((resolve, reject) => {
    execFile('git', args, { cwd, env, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`git ${args.join(' ')} failed: ${stderr.trim() || err.message}`));
      else resolve(stdout);
    });
  });
}
