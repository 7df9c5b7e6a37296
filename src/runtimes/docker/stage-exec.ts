/**
 * One stage = one exec in the build container. The command is a tiny sh wrapper that prints its own pid (as the
 * container sees it) on stdout and then replaces itself with `sh -e -c <script>`: same pid, so Ocelot knows which
 * process group to signal on cancel without any file, helper binary or procps in the image. The engine makes
 * every exec a session and process-group leader, so signalling the group reaches the stage's children too.
 */
import type Docker from 'dockerode';
import type { Duplex } from 'node:stream';
import { FrameDemuxer } from './demux.js';

const WRAPPER = 'printf "%s\\n" "$$"; exec sh -e -c "$1"';

export interface StartedExec {
  exec: Docker.Exec;
  /** Resolves with the stage shell's pid inside the container, or undefined if the stream ended first. */
  pid: Promise<number | undefined>;
  /** Resolves when the engine closed the output stream (the stage's process has exited, normally). */
  ended: Promise<void>;
  /** Drops the output stream, for when the process cannot be made to exit. */
  abandon(): void;
}

export interface StageExecSpec {
  script: string;
  env: string[];
  workingDir: string;
  onOutput(data: Buffer): void;
}

export async function startStageExec(container: Docker.Container, spec: StageExecSpec): Promise<StartedExec> {
  const exec = await container.exec({
    Cmd: ['sh', '-c', WRAPPER, 'ocelot-stage', spec.script],
    Env: spec.env,
    WorkingDir: spec.workingDir,
    AttachStdin: false,
    AttachStdout: true,
    AttachStderr: true,
    Tty: false,
  });
  const stream: Duplex = await exec.start({ hijack: true, stdin: false });

  let resolvePid!: (pid: number | undefined) => void;
  const pid = new Promise<number | undefined>((r) => (resolvePid = r));
  // Bytes of stdout before the first newline are the pid marker, not stage output.
  let marker: Buffer | null = Buffer.alloc(0);
  const demux = new FrameDemuxer((kind, payload) => {
    if (kind === 'stdout' && marker !== null) {
      const nl = payload.indexOf(10);
      if (nl < 0) {
        marker = Buffer.concat([marker, payload]);
        return;
      }
      const text = Buffer.concat([marker, payload.subarray(0, nl)]).toString('latin1');
      marker = null;
      const n = Number.parseInt(text, 10);
      resolvePid(Number.isFinite(n) && n > 0 ? n : undefined);
      if (nl + 1 < payload.length) spec.onOutput(payload.subarray(nl + 1));
      return;
    }
    spec.onOutput(payload);
  });

  const ended = new Promise<void>((resolve) => {
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      resolvePid(undefined);
      resolve();
    };
    stream.on('data', (chunk: Buffer) => demux.push(chunk));
    stream.on('end', finish);
    stream.on('close', finish);
    // A broken connection ends the stage too; the exit code inspection then tells what happened.
    stream.on('error', finish);
  });

  return { exec, pid, ended, abandon: () => stream.destroy() };
}

/** The exec's exit code once the engine reports it finished; polls briefly because the stream can end first. */
export async function execExitCode(exec: Docker.Exec): Promise<number | null> {
  for (let i = 0; i < 200; i++) {
    const info = await exec.inspect();
    if (!info.Running) return info.ExitCode;
    await new Promise((r) => setTimeout(r, i < 20 ? 5 : 25));
  }
  return null;
}

/**
 * Sends `sig` to the stage's process group from a second exec (kill is a sh builtin). Returns false when that
 * was impossible (container stopped, pid limit reached), so the caller can fall back to killing the container.
 */
export async function signalStage(container: Docker.Container, pid: number, sig: 'TERM' | 'KILL'): Promise<boolean> {
  try {
    const exec = await container.exec({
      // busybox ash rejects `--`, dash and bash accept both spellings; the last form hits the shell alone.
      Cmd: ['sh', '-c', `kill -${sig} -${pid} 2>/dev/null || kill -s ${sig} -- -${pid} 2>/dev/null || kill -${sig} ${pid}`],
      AttachStdout: true,
      AttachStderr: true,
      Tty: false,
    });
    const stream: Duplex = await exec.start({ hijack: true, stdin: false });
    await new Promise<void>((resolve) => {
      stream.on('end', resolve);
      stream.on('close', resolve);
      stream.on('error', resolve);
      stream.resume();
    });
    return true;
  } catch {
    return false;
  }
}
