/**
 * Long-running `ocelot` processes for process-level tests (`ocelot server`, `ocelot werker`): start one, wait
 * for its start-up line, read its output, stop or kill it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { BIN } from './ocelot-process.js';

export interface Daemon {
  child: ChildProcess;
  /** What the ready pattern's first group matched (e.g. the server URL). */
  matched: string;
  output: () => string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export async function startDaemon(args: string[], env: NodeJS.ProcessEnv, ready: RegExp, timeoutMs = 20_000): Promise<Daemon> {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const matched = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`ocelot ${args[0]} did not start in ${timeoutMs} ms:\n${out}`)), timeoutMs);
    const check = () => {
      const m = ready.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1] ?? m[0]);
      }
    };
    child.stdout!.on('data', check);
    child.stderr!.on('data', check);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`ocelot ${args[0]} exited (${code}):\n${out}`));
    });
  });
  return {
    child,
    matched,
    output: () => out,
    stop: (signal = 'SIGTERM') =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode);
        child.once('exit', (code) => resolve(code));
        child.kill(signal);
      }),
  };
}
