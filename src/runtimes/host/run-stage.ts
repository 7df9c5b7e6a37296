/**
 * Runs one stage on the host: all script lines in ONE bash process with errexit.
 *
 * Why `bash --noprofile --norc -e -c <script>` rather than a script file: it needs no file system work per stage
 * (no temp file to write, chmod and delete), which keeps per-stage overhead at the cost of one spawn. A kernel
 * limit caps a single argument at 128 KiB, so a script larger than INLINE_LIMIT goes through a temp file instead;
 * bash treats both identically. No pipefail, as in the original: `false | true` passes.
 *
 * Output: the child's stdout AND stderr are both the log spool's fd, so lines interleave exactly as the program
 * wrote them and the bytes never pass through Node (what makes a 100 MB log cost no more than writing a file).
 * stdin is /dev/null so a stage that reads input ends instead of hanging.
 *
 * Processes: the shell is the leader of a new process group. When the shell ends, whatever is left of its group
 * (background jobs, `nohup` children) gets SIGTERM and then SIGKILL after the grace period, before the result is
 * returned: no process outlives its stage. Cancel and timeout do the same to the whole group while it runs, and
 * if the werker process itself dies, its watchdog kills the group (group-watchdog.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { constants as osConstants, tmpdir } from 'node:os';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { StageResult, StageRun } from '../runtime.js';
import { stageEnvironment } from './stage-env.js';
import { groupHasLiveMembers, terminateGroup } from './process-group.js';

const SHELL_FLAGS = ['--noprofile', '--norc', '-e'];
/** Below the kernel's 128 KiB per-argument limit (MAX_ARG_STRLEN), with room to spare. */
const INLINE_LIMIT = 96 * 1024;

export interface StageProcessOptions {
  /** Shell to run (absolute path, or a name looked up on PATH by the kernel). */
  shell: string;
  /** Name of the shell as the user configured it, for messages. */
  shellName: string;
  cwd: string;
  /** Told when a stage starts, with a way to stop it (for the session's destroy()); returns "it ended". */
  track(stop: () => Promise<void>): () => void;
  /** Kills the stage's group if this process dies before the stage ends (group-watchdog.ts); returns "it is gone". */
  watch?: (pgid: number) => () => void;
}

let scriptFileCounter = 0;

export async function runStageProcess(stage: StageRun, opts: StageProcessOptions): Promise<StageResult> {
  if (stage.signal.aborted) return { state: 'CANCELLED', exitCode: null, reason: cancelReason(stage.signal) };

  const script = stage.script.join('\n');
  let scriptFile: string | undefined;
  let args: string[];
  if (script.length > INLINE_LIMIT / 4 && Buffer.byteLength(script) > INLINE_LIMIT) {
    scriptFile = path.join(tmpdir(), `ocelot-stage-${process.pid}-${++scriptFileCounter}.sh`);
    try {
      await fs.writeFile(scriptFile, script, { mode: 0o600, flag: 'wx' });
    } catch (err) {
      return notStarted(`could not write the stage script to ${scriptFile}: ${errMessage(err)}`);
    }
    args = [...SHELL_FLAGS, scriptFile];
  } else {
    args = [...SHELL_FLAGS, '-c', script];
  }

  try {
    return await supervise(stage, opts, args);
  } finally {
    if (scriptFile) await fs.rm(scriptFile, { force: true }).catch(() => undefined);
  }
}

function supervise(stage: StageRun, opts: StageProcessOptions, args: string[]): Promise<StageResult> {
  return new Promise<StageResult>((resolve) => {
    let child: ChildProcess;
    try {
      child = spawn(opts.shell, args, {
        cwd: opts.cwd,
        env: stageEnvironment(stage.env),
        stdio: ['ignore', stage.output.fd, stage.output.fd],
        detached: true,
      });
    } catch (err) {
      // Some failures (E2BIG from a huge environment, EMFILE) are thrown rather than emitted.
      void explainSpawnError(err, opts).then((reason) => resolve(notStarted(reason)));
      return;
    }

    const pgid = child.pid;
    const unwatch = pgid !== undefined && opts.watch ? opts.watch(pgid) : () => undefined;
    let stopping: Stopping = null;
    let stopped: Promise<void> = Promise.resolve();
    let exited = false;
    let markDone!: () => void;
    const done = new Promise<void>((r) => (markDone = r));

    const stop = (why: Exclude<Stopping, null>) => {
      if (stopping || exited || pgid === undefined) return;
      stopping = why;
      stopped = terminateGroup(pgid, stage.killGraceMs);
    };
    const untrack = opts.track(() => {
      stop('destroy');
      return done;
    });
    const onAbort = () => stop('cancel');
    stage.signal.addEventListener('abort', onAbort, { once: true });
    const timer =
      Number.isFinite(stage.timeoutMs) && stage.timeoutMs > 0 ? setTimeout(() => stop('timeout'), stage.timeoutMs) : undefined;

    const cleanup = () => {
      exited = true;
      if (timer) clearTimeout(timer);
      stage.signal.removeEventListener('abort', onAbort);
    };

    child.once('error', (err) => {
      // 'error' without a pid: the process never started. (With a pid it would be a failed kill(), which we
      // never do through the ChildProcess object.)
      if (child.pid !== undefined) return;
      cleanup();
      untrack();
      markDone();
      void explainSpawnError(err, opts).then((reason) => resolve(notStarted(reason)));
    });

    child.once('exit', (code, signal) => {
      cleanup();
      void (async () => {
        if (pgid !== undefined) {
          if (stopping) await stopped;
          else if (await groupHasLiveMembers(pgid)) await terminateGroup(pgid, stage.killGraceMs); // leftovers of a finished stage
        }
        unwatch();
        untrack();
        resolve(outcome(stage, stopping, code, signal));
        markDone();
      })();
    });
  });
}

type Stopping = 'cancel' | 'timeout' | 'destroy' | null;

function outcome(
  stage: StageRun,
  stopping: Stopping,
  code: number | null,
  signal: NodeJS.Signals | null,
): StageResult {
  const exitCode = code ?? (signal ? 128 + (osConstants.signals[signal] ?? 0) : null);
  if (stopping === 'cancel') return { state: 'CANCELLED', exitCode, reason: cancelReason(stage.signal) };
  if (stopping === 'destroy') return { state: 'CANCELLED', exitCode, reason: 'stopped: the build environment was torn down' };
  if (stopping === 'timeout') {
    return { state: 'FAILED', exitCode, timedOut: true, reason: `timed out after ${formatSeconds(stage.timeoutMs)}` };
  }
  if (signal) return { state: 'FAILED', exitCode, reason: `killed by signal ${signal}` };
  if (code === 0) return { state: 'PASSED', exitCode: 0 };
  return { state: 'FAILED', exitCode, reason: `exit code ${code}` };
}

function notStarted(reason: string): StageResult {
  return { state: 'FAILED', exitCode: null, reason };
}

/** spawn() reports a missing shell and a missing cwd with the same ENOENT; look at the cwd to tell them apart. */
async function explainSpawnError(err: unknown, opts: StageProcessOptions): Promise<string> {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const cwdProblem = await fs.stat(opts.cwd).then(
    (st) => (st.isDirectory() ? null : `the workspace ${opts.cwd} is not a directory`),
    (e: NodeJS.ErrnoException) =>
      e.code === 'ENOENT' ? `the workspace directory ${opts.cwd} does not exist` : `cannot use the workspace ${opts.cwd}: ${e.message}`,
  );
  if (cwdProblem) return `cannot start the stage: ${cwdProblem}`;
  if (code === 'ENOENT') return `cannot start the stage: ${opts.shellName} not found on this werker`;
  if (code === 'EACCES') return `cannot start the stage: ${opts.shellName} (${opts.shell}) or the workspace is not accessible`;
  if (code === 'E2BIG') return 'cannot start the stage: its environment is too large for the kernel (E2BIG)';
  return `cannot start the stage: ${errMessage(err)}`;
}

function cancelReason(signal: AbortSignal): string {
  const r: unknown = signal.reason;
  if (typeof r === 'string' && r) return r;
  if (r instanceof Error && r.name !== 'AbortError' && r.message) return r.message;
  return 'cancelled';
}

function formatSeconds(ms: number): string {
  const s = ms / 1000;
  return `${Number.isInteger(s) ? s : Number(s.toFixed(3))}s`;
}

function errMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
