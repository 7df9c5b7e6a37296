/**
 * Running git for the werker: output (masked) into the stage log, the tail of stderr kept for error messages,
 * credentials never printed, and cancel that takes git's helper processes (git-remote-http, index-pack) along.
 */
import { spawn } from 'node:child_process';
import type { StageOutput } from '../runtimes/runtime.js';

export interface GitRun {
  code: number | null;
  stdout: string;
  /** The last few KiB of stderr, masked. */
  stderr: string;
}

export interface GitOptions {
  cwd: string;
  output: StageOutput;
  signal: AbortSignal;
  mask: (text: string) => string;
  /** Print the command and forward git's output to `output` (default true); false for plumbing queries. */
  echo?: boolean;
  /** Capture stdout (plumbing queries) instead of forwarding it. */
  captureStdout?: boolean;
}

const STDERR_TAIL = 8 * 1024;
const KILL_GRACE_MS = 2_000;

/**
 * The environment git runs in: the werker's own (operators configure proxies, CA bundles and credential
 * helpers there), made non-interactive so a private repository fails at once instead of waiting for a password,
 * and in the C locale so error texts are stable.
 */
function gitEnv(): NodeJS.ProcessEnv {
  // Built once per process: copying process.env reads every variable through libc, and a werker runs git for
  // every build with the environment it was started with.
  return (builtGitEnv ??= { ...process.env, GIT_TERMINAL_PROMPT: '0', GCM_INTERACTIVE: 'never', LC_ALL: 'C', LANGUAGE: '', ...configEnv(SPEED_CONFIG) });
}
let builtGitEnv: NodeJS.ProcessEnv | undefined;

/**
 * Settings for a throw-away checkout: no background gc or maintenance, no commit-graph writing, no advice.
 * Passed through the environment (git >= 2.31) so the commands echoed into the log stay short and readable.
 */
const SPEED_CONFIG: Array<[string, string]> = [
  ['gc.auto', '0'],
  ['maintenance.auto', 'false'],
  ['fetch.writeCommitGraph', 'false'],
  ['advice.detachedHead', 'false'],
  // Ocelot's own checkout leaves no reflog entry: that saves creating .git/logs on every build. The workspace's
  // config keeps reflogs on, so what the build's scripts do is logged as in any clone (`git checkout -` works).
  ['core.logAllRefUpdates', 'false'],
];

function configEnv(pairs: Array<[string, string]>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { GIT_CONFIG_COUNT: String(pairs.length) };
  pairs.forEach(([k, v], i) => {
    env[`GIT_CONFIG_KEY_${i}`] = k;
    env[`GIT_CONFIG_VALUE_${i}`] = v;
  });
  return env;
}

export function runGit(args: string[], opts: GitOptions): Promise<GitRun> {
  const echo = opts.echo ?? true;
  if (echo) opts.output.write(`$ ${opts.mask(['git', ...args].join(' '))}\n`);
  return new Promise<GitRun>((resolve, reject) => {
    if (opts.signal.aborted) return reject(new Error('cancelled'));
    // Own process group: killing it reaches git-remote-http and friends too.
    const child = spawn('git', args, { cwd: opts.cwd, env: gitEnv(), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    const lines = new LineMasker(opts.mask, (text) => echo && opts.output.write(text));
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      if (opts.captureStdout) stdout += d;
      else lines.push(d);
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr = (stderr + d).slice(-STDERR_TAIL);
      lines.push(d);
    });
    let killTimer: NodeJS.Timeout | undefined;
    const onAbort = () => {
      killGroup(child.pid, 'SIGTERM');
      killTimer = setTimeout(() => killGroup(child.pid, 'SIGKILL'), KILL_GRACE_MS);
    };
    opts.signal.addEventListener('abort', onAbort, { once: true });
    child.once('error', (err) => {
      opts.signal.removeEventListener('abort', onAbort);
      reject(err);
    });
    child.once('close', (code) => {
      opts.signal.removeEventListener('abort', onAbort);
      if (killTimer) clearTimeout(killTimer);
      lines.flush();
      if (opts.signal.aborted) return reject(new Error('cancelled'));
      resolve({ code, stdout, stderr: opts.mask(stderr) });
    });
  });
}

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

/** Masks whole lines, so a secret split across two reads is still caught. */
class LineMasker {
  private partial = '';
  constructor(
    private readonly mask: (text: string) => string,
    private readonly write: (text: string) => void,
  ) {}

  push(data: string): void {
    const text = this.partial + data;
    const end = Math.max(text.lastIndexOf('\n'), text.lastIndexOf('\r'));
    if (end < 0) {
      this.partial = text;
      return;
    }
    this.partial = text.slice(end + 1);
    this.write(this.mask(text.slice(0, end + 1)));
  }

  flush(): void {
    if (this.partial) this.write(`${this.mask(this.partial)}\n`);
    this.partial = '';
  }
}

/** The last meaningful lines of git's stderr: its fatal/error lines when there are any. */
export function gitErrorText(stderr: string): string {
  const lines = stderr
    .split(/\r?\n|\r/)
    .map((l) => l.trim())
    .filter(Boolean);
  const errors = lines.filter((l) => /^(fatal|error|remote: error|remote: fatal):/i.test(l));
  const picked = (errors.length > 0 ? errors : lines).slice(-3);
  return picked.join(' / ') || 'no error output from git';
}
