/**
 * Workspace preparation: a fresh checkout of the exact commit a build is for.
 *
 * Shape, chosen for speed (a small repository over local HTTP is ready in a few tens of ms):
 *   git init  →  origin written straight into .git/config (no process)  →  git fetch --depth=N origin <sha>
 *   →  git checkout --detach <sha>
 * Fetching the commit itself, not the branch, builds what the webhook named even if the branch moved since.
 * Servers that refuse unadvertised objects (protocol v0 without allowReachableSHA1InWant) get the branch
 * instead, then all branches with full history, and the commit must be among what arrived.
 *
 * Depth 50 by default, as other CIs do: a shallow fetch is fast whatever the repository's age, and 50 commits
 * are enough for most `git describe` and changelog scripts. Depth 0 fetches the full history.
 *
 * Abbreviated commit ids (Bitbucket pull-request payloads carry 12 characters) cannot be fetched by id: the
 * branch is fetched and the abbreviation resolved against it, and it must name exactly one commit.
 *
 * Credentials in the clone URL are used for the fetch only: they are masked in everything printed, and the
 * checkout's `origin` is rewritten to the URL without them, so build scripts cannot read them from .git/config.
 */
import fs from 'node:fs/promises';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import type { StageOutput } from '../runtimes/runtime.js';
import { gitErrorText, runGit, type GitRun } from './git-command.js';
import { originSection, urlSecrets, type UrlSecrets } from './git-url.js';
import { checkoutFromCache } from './git-cache.js';

export const DEFAULT_CLONE_DEPTH = 50;

export interface PrepareWorkspaceOptions {
  cloneUrl: string;
  /** Full (40 or 64 hex) or abbreviated (at least 7) commit id. */
  commit: string;
  /** Branch the commit is on; needed for abbreviated ids and for servers that refuse fetching by id. */
  branch?: string | null;
  /** Must not exist yet, or be empty. */
  dir: string;
  /** Commits of history to fetch; 0 = all. Default 50. */
  depth?: number;
  output: StageOutput;
  signal: AbortSignal;
  /**
   * The werker's repository cache (git-cache.ts): full commits of credential-free URLs are cloned from there
   * instead of fetched over the network. Unset = always fetch.
   */
  cacheDir?: string;
}

export class WorkspaceError extends Error {
  override name = 'WorkspaceError';
}

export async function prepareWorkspace(opts: PrepareWorkspaceOptions): Promise<{ commit: string }> {
  const commit = opts.commit.trim().toLowerCase();
  if (!/^[0-9a-f]{7,64}$/.test(commit)) throw new WorkspaceError(`'${opts.commit}' is not a commit id`);
  if (/[\s\0]/.test(opts.cloneUrl)) throw new WorkspaceError('the clone URL contains whitespace or control characters');
  const depth = Math.max(0, Math.floor(opts.depth ?? DEFAULT_CLONE_DEPTH));
  const full = commit.length === 40 || commit.length === 64;
  const branch = opts.branch && isPlainBranch(opts.branch) ? opts.branch : null;
  const url = urlSecrets(opts.cloneUrl);
  const ctx: Ctx = { opts, url, dir: opts.dir };

  await freshDir(opts.dir);
  if (opts.cacheDir && full && url.clean === opts.cloneUrl) {
    if (await checkoutFromCache({ cacheDir: opts.cacheDir, cloneUrl: opts.cloneUrl, commit, dir: opts.dir, output: opts.output, signal: opts.signal })) {
      opts.output.write(`HEAD is now at ${commit}\n`);
      return { commit };
    }
    if (opts.signal.aborted) throw new WorkspaceError('cancelled while preparing the workspace');
    await fs.rm(opts.dir, { recursive: true, force: true });
    opts.output.write('The repository cache could not serve this commit; fetching it directly.\n');
  }
  await fs.mkdir(opts.dir, { recursive: true });
  // No template: sample hooks and info/exclude are files nobody here needs, and copying them costs time.
  await git(ctx, ['init', '-q', '--template=', '.'], { what: 'git init', echo: false });
  const gitConfig = path.join(opts.dir, '.git', 'config');
  const baseConfig = await fs.readFile(gitConfig, 'utf8');
  await fs.writeFile(gitConfig, baseConfig + originSection(opts.cloneUrl));

  const depthArg = depth > 0 ? [`--depth=${depth}`] : [];
  const fetchFlags = ['fetch', '--no-tags', '--no-recurse-submodules'];
  const branchRef = branch ? `+refs/heads/${branch}:refs/remotes/origin/${branch}` : null;
  let resolved: string | null = null;

  try {
    // 1. The commit itself (full ids only).
    if (full) {
      const dst = branch ? `${commit}:refs/remotes/origin/${branch}` : commit;
      const r = await git(ctx, [...fetchFlags, ...depthArg, 'origin', dst]);
      if (r.code === 0) resolved = commit;
      else if (!refusedObject(r.stderr)) throw fail('git fetch', r);
      else opts.output.write('The server does not serve commits by id; fetching branches instead.\n');
    }
    // 2. The branch, at depth.
    if (!resolved && branchRef) {
      const r = await git(ctx, [...fetchFlags, ...depthArg, 'origin', branchRef]);
      if (r.code !== 0) throw fail('git fetch', r);
      resolved = await resolveCommit(ctx, commit);
    }
    // 3. Every branch, full history: the commit is older than the depth, or on another branch.
    if (!resolved) {
      const shallow = await exists(path.join(opts.dir, '.git', 'shallow'));
      const r = await git(ctx, [...fetchFlags, ...(shallow ? ['--unshallow'] : []), 'origin', '+refs/heads/*:refs/remotes/origin/*']);
      if (r.code !== 0) throw fail('git fetch', r);
      resolved = await resolveCommit(ctx, commit);
    }
    if (!resolved) {
      throw new WorkspaceError(
        `commit ${commit} was not found in ${url.clean}${branch ? ` (fetched branch ${branch} and all other branches)` : ''}`,
      );
    }

    const co = await git(ctx, ['checkout', '-q', '--detach', resolved]);
    if (co.code !== 0) throw fail('git checkout', co);
  } catch (err) {
    if (opts.signal.aborted) throw new WorkspaceError('cancelled while preparing the workspace');
    throw err instanceof WorkspaceError ? err : new WorkspaceError(url.mask(err instanceof Error ? err.message : String(err)));
  } finally {
    // Whatever happened, no credentials stay behind in the workspace.
    if (url.clean !== opts.cloneUrl) await fs.writeFile(gitConfig, baseConfig + originSection(url.clean)).catch(() => undefined);
  }
  opts.output.write(`HEAD is now at ${resolved}\n`);
  return { commit: resolved };
}

interface Ctx {
  opts: PrepareWorkspaceOptions;
  url: UrlSecrets;
  dir: string;
}

async function git(ctx: Ctx, args: string[], o: { what?: string; echo?: boolean } = {}): Promise<GitRun> {
  const r = await runGit(args, { cwd: ctx.dir, output: ctx.opts.output, signal: ctx.opts.signal, mask: ctx.url.mask, echo: o.echo ?? true });
  if (o.what && r.code !== 0) throw fail(o.what, r);
  return r;
}

/** The full id of `commit` (full or abbreviated) if that commit is in the repository; null otherwise. */
async function resolveCommit(ctx: Ctx, commit: string): Promise<string | null> {
  const r = await runGit(['rev-parse', '--verify', '--quiet', '--end-of-options', `${commit}^{commit}`], {
    cwd: ctx.dir,
    output: ctx.opts.output,
    signal: ctx.opts.signal,
    mask: ctx.url.mask,
    echo: false,
    captureStdout: true,
  });
  if (r.code === 0) return r.stdout.trim();
  if (/ambiguous/i.test(r.stderr)) throw new WorkspaceError(`commit id ${commit} is ambiguous: ${gitErrorText(r.stderr)}`);
  return null;
}

/** Answers of servers that will not hand out an object by id (v0 without allow*SHA1InWant, or an unknown id). */
function refusedObject(stderr: string): boolean {
  return /unadvertised object|not our ref|couldn't find remote ref|no such remote ref|want .* not valid/i.test(stderr);
}

function fail(what: string, r: GitRun): WorkspaceError {
  return new WorkspaceError(`${what} failed: ${gitErrorText(r.stderr)}`);
}

async function freshDir(dir: string): Promise<void> {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new WorkspaceError(`cannot use workspace directory ${dir}: ${(err as Error).message}`);
  }
  // Never clean a directory we did not create: a misconfigured path could point anywhere.
  if (entries.length > 0) throw new WorkspaceError(`workspace directory ${dir} is not empty`);
}

/** A branch name safe to put into a refspec (what forges send always is; anything odd is simply not used). */
function isPlainBranch(name: string): boolean {
  return /^[A-Za-z0-9._/-]+$/.test(name) && !name.includes('..') && !name.startsWith('-') && !name.endsWith('.lock') && !name.endsWith('/');
}

async function exists(p: string): Promise<boolean> {
  return fs.access(p).then(
    () => true,
    () => false,
  );
}
