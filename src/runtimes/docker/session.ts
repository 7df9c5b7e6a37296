/**
 * A build's container and the stages run in it. Cancel and timeout follow the same path: SIGTERM to the stage's
 * process group, SIGKILL after the grace period, and if even that does not end the output stream (a process that
 * left the group still holds it), the stream is dropped and the container killed so the build cannot hang.
 */
import type Docker from 'dockerode';
import type { RuntimeSession, StageOutput, StageResult, StageRun } from '../runtime.js';
import { execExitCode, signalStage, startStageExec, type StartedExec } from './stage-exec.js';

/** How long after SIGKILL we wait for the stream to close before giving up on it. */
const AFTER_KILL_MS = 2000;

export interface DockerSessionInit {
  container: Docker.Container;
  containerId: string;
  workspacePath: string;
  keepContainer: boolean;
  setupOutput: StageOutput;
}

type StopReason = 'cancelled' | 'timeout';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class DockerSession implements RuntimeSession {
  readonly workspacePath: string;
  private readonly container: Docker.Container;
  private readonly containerId: string;
  private readonly keep: boolean;
  private lastOutput: StageOutput;
  private destroyed: Promise<void> | null = null;

  constructor(init: DockerSessionInit) {
    this.container = init.container;
    this.containerId = init.containerId;
    this.workspacePath = init.workspacePath;
    this.keep = init.keepContainer;
    this.lastOutput = init.setupOutput;
  }

  get id(): string {
    return this.containerId;
  }

  async runStage(stage: StageRun): Promise<StageResult> {
    this.lastOutput = stage.output;
    if (this.destroyed) return { state: 'CANCELLED', exitCode: null, reason: 'the build container is gone' };
    if (stage.signal.aborted) return { state: 'CANCELLED', exitCode: null, reason: 'cancelled before start' };

    let started: StartedExec;
    try {
      started = await startStageExec(this.container, {
        script: stage.script.join('\n'),
        env: stage.env.filter(([k]) => k !== '' && !k.includes('=')).map(([k, v]) => `${k}=${v}`),
        workingDir: this.workspacePath,
        onOutput: (data) => stage.output.write(data),
      });
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      return { state: 'FAILED', exitCode: null, reason: `cannot start the stage in the container: ${why}` };
    }

    let stopReason: StopReason | null = null;
    let stopping: Promise<void> | null = null;
    const stop = (reason: StopReason): void => {
      if (stopReason) return;
      stopReason = reason;
      stopping = this.stopStage(started, stage.killGraceMs);
    };
    const onAbort = (): void => stop('cancelled');
    stage.signal.addEventListener('abort', onAbort, { once: true });
    const timer =
      stage.timeoutMs > 0 && Number.isFinite(stage.timeoutMs) ? setTimeout(() => stop('timeout'), stage.timeoutMs) : undefined;

    try {
      await started.ended;
    } finally {
      clearTimeout(timer);
      stage.signal.removeEventListener('abort', onAbort);
    }
    let exitCode: number | null = null;
    try {
      exitCode = await execExitCode(started.exec);
    } catch {
      exitCode = null; // container removed under us (kill): the stop reason below says what happened
    }
    // Let a running stop sequence finish its last step so no kill exec lands on the next stage.
    if (stopping) await stopping;

    if (stopReason === 'cancelled') return { state: 'CANCELLED', exitCode, reason: 'cancelled' };
    if (stopReason === 'timeout') {
      return { state: 'FAILED', exitCode, reason: `timed out after ${formatMs(stage.timeoutMs)}`, timedOut: true };
    }
    if (this.destroyed) return { state: 'CANCELLED', exitCode, reason: 'the build container was removed' };
    if (exitCode === 0) return { state: 'PASSED', exitCode: 0 };
    if (exitCode === null) return { state: 'FAILED', exitCode: null, reason: 'the engine reported no exit code' };
    return { state: 'FAILED', exitCode, reason: `exit code ${exitCode}` };
  }

  private async stopStage(started: StartedExec, graceMs: number): Promise<void> {
    const isDone = (): Promise<boolean> => started.ended.then(() => true);
    const endedWithin = (ms: number): Promise<boolean> => Promise.race([isDone(), sleep(ms).then(() => false)]);
    const pid = await started.pid;
    if (pid === undefined) return; // stream already ended: nothing left to signal
    if (!(await signalStage(this.container, pid, 'TERM'))) {
      await this.container.kill({ signal: 'SIGKILL' }).catch(() => undefined);
      if (!(await endedWithin(AFTER_KILL_MS))) started.abandon();
      return;
    }
    if (await endedWithin(Math.max(0, graceMs))) return;
    if (!(await signalStage(this.container, pid, 'KILL'))) {
      await this.container.kill({ signal: 'SIGKILL' }).catch(() => undefined);
    }
    if (await endedWithin(AFTER_KILL_MS)) return;
    // Something outside the group keeps the stream open; take the whole container down with it.
    await this.container.kill({ signal: 'SIGKILL' }).catch(() => undefined);
    if (!(await endedWithin(AFTER_KILL_MS))) started.abandon();
  }

  destroy(): Promise<void> {
    if (!this.destroyed) this.destroyed = this.teardown();
    return this.destroyed;
  }

  private async teardown(): Promise<void> {
    if (this.keep) {
      this.lastOutput.write(
        `keeping container ${this.containerId.slice(0, 12)} for debugging; enter it with: docker exec -it ${this.containerId.slice(0, 12)} sh\n` +
          `remove it when done with: docker rm -f ${this.containerId.slice(0, 12)}\n`,
      );
      return;
    }
    try {
      // force: kill and remove in one call; v: drop anonymous volumes the image declared.
      await this.container.remove({ force: true, v: true });
    } catch (err) {
      const code = (err as { statusCode?: number }).statusCode;
      // 404: already gone; 409: removal already in progress. Both mean the container is (being) removed.
      if (code !== 404 && code !== 409) throw err;
    }
  }
}

function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}
