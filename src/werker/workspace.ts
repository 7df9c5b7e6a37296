/**
 * Prepares a build's workspace: a fresh directory holding the repository at exactly the commit to build,
 * fetched from the clone URL the event carried (so GitHub Enterprise, Bitbucket Server or any git smart-HTTP
 * server works). git's own output goes to the workspace stage log; a failure throws WorkspaceError carrying git's
 * error text.
 *
 * Fetch strategy: `git fetch --depth=N origin <sha>` first (one round trip; GitHub and git ≥ 2.5 servers with
 * protocol v2 allow it). If the server refuses unadvertised objects, fetch the branch instead and check the
 * commit arrived. An abbreviated commit (Bitbucket PR payloads carry 12 chars) is resolved against the fetched
 * branch.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import type { StageOutput } from '../runtimes/runtime.js';

export class WorkspaceError extends Error {
  override name = 'WorkspaceError';
}

export interface PrepareWorkspaceOptions {
  cloneUrl: string;
  commit: string;
  branch?: string;
  dir: string;
  /** History depth; 0 = full. Default 50: fast like other CIs, enough for most `git describe`. */
  depth?: number;
  output: StageOutput;
  signal: AbortSignal;
}

export async function prepareWorkspace(opts: PrepareWorkspaceOptions): Promise<{ commit: string }> {
  const { dir, output, signal } = opts;
  await fs.rm(dir, { recursive: true, force: true });
  await fs.mkdir(dir, { recursive: true });
  const depth = opts.depth ?? 50;
  const depthArgs = depth > 0 ? [`--depth=${depth}`] : [];
  const git = (args: string[], quiet = false) => run(dir, args, output, signal, quiet);

  await git(['init', '-q'], true);
  await git(['remote', 'add', 'origin', opts.cloneUrl], true);
  const full = /^[0-9a-f]{40}$/i.test(opts.commit);
  let fetched = false;
  if (full) {
    try {
      await git(['fetch', '--no-tags', '--quiet', ...depthArgs, 'origin', opts.commit]);
      fetched = true;
    } catch (err) {
      if (signal.aborted || !opts.branch) throw err;
      output.write('fetching the commit directly was refused; fetching the branch instead\n');
    }
  }
  if (!fetched) {
    const ref = opts.branch ? `+refs/heads/${opts.branch}:refs/remotes/origin/${opts.branch}` : '+refs/heads/*:refs/remotes/origin/*';
    await git(['fetch', '--no-tags', '--quiet', ...(full ? [] : depthArgs), 'origin', ref]);
  }
  let commit: string;
  try {
    commit = (await git(['rev-parse', '--verify', '--quiet', `${opts.commit}^{commit}`], true)).trim();
  } catch {
    throw new WorkspaceError(`commit ${opts.commit} is not in ${redact(opts.cloneUrl)}${opts.branch ? ` (branch ${opts.branch})` : ''}`);
  }
  if (!commit.toLowerCase().startsWith(opts.commit.toLowerCase())) {
    throw new WorkspaceError(`commit ${opts.commit} resolved to ${commit}, which does not match`);
  }
  await git(['checkout', '-q', '--detach', commit]);
  return { commit };
}

function run(cwd: string, args: string[], output: StageOutput, signal: AbortSignal, quiet: boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, {
      cwd,
      env: { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_ASKPASS: 'true', LC_ALL: 'C' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (!quiet) output.write(redactText(d.toString()));
    });
    const onAbort = () => child.kill('SIGKILL');
    signal.addEventListener('abort', onAbort, { once: true });
    child.on('error', (err) => {
      signal.removeEventListener('abort', onAbort);
      reject(new WorkspaceError(`cannot run git: ${err.message}`));
    });
    child.on('close', (code) => {
      signal.removeEventListener('abort', onAbort);
      if (code === 0) return resolve(stdout);
      const last = redactText(stderr.trim()).split('\n').slice(-3).join(' ');
      reject(new WorkspaceError(`git ${args[0]} failed${last ? `: ${last}` : ` with exit code ${code}`}`));
    });
  });
}

/** Credentials in clone URLs never reach a log or an error message. */
function redact(url: string): string {
  return url.replace(/\/\/[^/@\s]+@/g, '//***@');
}
function redactText(text: string): string {
  return redact(text);
}
