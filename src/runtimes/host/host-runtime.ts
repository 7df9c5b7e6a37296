/**
 * The host Runtime: stages run as plain processes on the werker's machine, in the checkout itself.
 * Nothing to set up, so prepare() only resolves the shell once per build (instead of a PATH search per stage)
 * and hands back a session whose workspace is the checkout on the host.
 */
import { accessSync, constants as fsConstants } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Runtime, RuntimeJob, RuntimeSession, StageOutput, StageResult, StageRun } from '../runtime.js';
import { runStageProcess } from './run-stage.js';
import { WERKER_MARKER } from './sweep-orphans.js';
import { groupWatchdog } from './group-watchdog.js';

export interface HostRuntimeOptions {
  /** Shell that runs the stage scripts; a name looked up on the werker's PATH, or an absolute path. */
  shell?: string;
}

export function createHostRuntime(opts: HostRuntimeOptions = {}): Runtime {
  const shellName = opts.shell ?? 'bash';
  return {
    name: 'host',
    async prepare(job: RuntimeJob, _output: StageOutput, _signal: AbortSignal): Promise<RuntimeSession> {
      // Not found is not an error here: the stage then fails with "bash not found", which is where a user
      // looks for it.
      const shell = (await resolveOnPath(shellName)) ?? shellName;
      return new HostSession(job.workspaceHostPath, shell, shellName, job.werkerId);
    },
  };
}

class HostSession implements RuntimeSession {
  /** How to stop each stage still running, for destroy(). */
  private readonly running = new Set<() => Promise<void>>();
  private destroyed = false;
  private readonly watchdog = groupWatchdog();

  constructor(
    readonly workspacePath: string,
    private readonly shell: string,
    private readonly shellName: string,
    private readonly werkerId: string,
  ) {}

  async runStage(stage: StageRun): Promise<StageResult> {
    if (this.destroyed) return { state: 'FAILED', exitCode: null, reason: 'the runtime session was already torn down' };
    // Every stage process carries its werker's id, so a werker restarted after a crash finds (and stops) stage
    // processes its previous life left running: see sweep-orphans.ts.
    return runStageProcess({ ...stage, env: [...stage.env, [WERKER_MARKER, this.werkerId]] }, {
      shell: this.shell,
      shellName: this.shellName,
      cwd: this.workspacePath,
      track: (stop) => {
        this.running.add(stop);
        return () => this.running.delete(stop);
      },
      ...(this.watchdog ? { watch: (pgid: number) => this.watchdog!.watch(pgid) } : {}),
    });
  }

  async destroy(): Promise<void> {
    this.destroyed = true;
    const stops = [...this.running];
    this.running.clear();
    // Each stop terminates the stage's process group (SIGTERM, grace, SIGKILL) and waits for the stage to end.
    await Promise.all(stops.map((stop) => stop()));
  }
}

/** Like execvp's search, once: the first executable `name` on PATH, or null. */
/** Where each shell was found last: checked with one access() per build instead of a walk along PATH. */
const found = new Map<string, string>();

async function resolveOnPath(name: string): Promise<string | null> {
  if (name.includes('/')) return name;
  const known = found.get(name);
  if (known && isExecutable(known)) return known;
  const located = await searchPath(name);
  if (located) found.set(name, located);
  else found.delete(name);
  return located;
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

async function searchPath(name: string): Promise<string | null> {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      await fs.access(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      // keep looking
    }
  }
  return null;
}
