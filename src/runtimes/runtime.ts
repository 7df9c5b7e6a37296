/**
 * The Runtime seam: how a werker turns "run this stage" into processes. One implementation per way of running
 * (host/, docker/, later ssh/, kubernetes/). Runtimes know nothing of the store, the server or the queue: they get
 * a workspace on the werker host, an output sink, and an AbortSignal for cancel.
 */

/** Where stage output goes. Both ends write into the same seq-numbered build log. */
export interface StageOutput {
  /**
   * A file descriptor opened for appending to the build's log spool. A child process may get it as its stdout
   * AND stderr so that output is stored exactly in the order the program wrote it, without passing through Node.
   */
  readonly fd: number;
  /** Append bytes written by Ocelot itself (messages, demultiplexed container output). */
  write(data: string | Uint8Array): void;
}

export type StageOutcome = 'PASSED' | 'FAILED' | 'CANCELLED';

export interface StageResult {
  state: StageOutcome;
  /** Exit code of the stage's shell; null when it never started or was killed by a signal with no code. */
  exitCode: number | null;
  /** Why it failed or was cancelled, in words ("exit code 2", "timed out after 30s", "bash not found"). */
  reason?: string;
  timedOut?: boolean;
}

export interface StageRun {
  /** Display name of the stage. */
  name: string;
  /** Script lines; run in ONE shell with errexit, so the first failing line fails the stage. */
  script: string[];
  /** Complete environment for the stage (build env, then file env, then stage env), in precedence order. */
  env: Array<[string, string]>;
  /** Stage timeout; on expiry SIGTERM, then SIGKILL after `killGraceMs`. */
  timeoutMs: number;
  killGraceMs: number;
  output: StageOutput;
  /** Aborted on cancel (`ocelot kill`) or lost lease: stop the stage the same way as a timeout. */
  signal: AbortSignal;
}

export interface RuntimeJob {
  buildId: number;
  attempt: number;
  werkerId: string;
  /** Directory on the werker host holding the checkout at the exact commit. */
  workspaceHostPath: string;
  /** Image for container runtimes. */
  image?: string;
  /** Leave the container for debugging after the build. */
  keepContainer?: boolean;
}

export interface RuntimeSession {
  /** Path of the checkout as the stage commands see it; also the value of WORKSPACE. */
  readonly workspacePath: string;
  runStage(stage: StageRun): Promise<StageResult>;
  /** Tear down everything the session created (processes, containers). Safe to call twice. */
  destroy(): Promise<void>;
}

export interface Runtime {
  readonly name: string;
  /**
   * Set up the build environment (docker: pull the image, start the container). Progress goes to `output`
   * (the `setup` stage log). Throws RuntimeSetupError with a user-facing reason when it cannot.
   */
  prepare(job: RuntimeJob, output: StageOutput, signal: AbortSignal): Promise<RuntimeSession>;
}

export class RuntimeSetupError extends Error {
  override name = 'RuntimeSetupError';
}
