/**
 * What every long-running command (`up`, `server`, `werker`) does the same way: read whole-number flags, read the
 * operator's docker settings, and stop cleanly on SIGTERM/SIGINT (exit 0 after an orderly stop, 1 if it failed).
 */
import { dockerSettingsFrom, DockerSettingsError, type DockerFlags, type DockerSettings } from '../embedded/docker-settings.js';
import path from 'node:path';
import { UsageError } from './resolve.js';
import { DataDirInUseError } from '../embedded/data-dir-lock.js';

export { wholeNumber } from './resolve.js';

export function dockerSettingsOrUsage(flags: DockerFlags): DockerSettings {
  try {
    return dockerSettingsFrom(flags);
  } catch (err) {
    if (err instanceof DockerSettingsError) throw new UsageError(err.message);
    throw err;
  }
}

const DATA_DIR_REASONS: Record<string, string> = {
  EEXIST: 'it exists and is not a directory',
  ENOTDIR: 'a part of the path is a file, not a directory',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'read-only file system',
};

/**
 * Runs a server's start and turns the failures a user fixes with a flag (port taken, data directory unusable) into
 * one-line usage errors; anything else is thrown as it was.
 */
export async function explainStartErrors<T>(where: { port: string; host: string; dataDir: string }, start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (err) {
    if (err instanceof DataDirInUseError) throw new UsageError(err.message);
    const e = err as NodeJS.ErrnoException & { port?: number };
    if (e?.code === 'EADDRINUSE') throw new UsageError(`port ${e.port ?? where.port} is already in use on ${where.host}; pick another with --port`);
    const dir = path.resolve(where.dataDir);
    const reason = e?.code ? DATA_DIR_REASONS[e.code] : undefined;
    if (reason && typeof e.path === 'string' && (path.resolve(e.path) === dir || path.resolve(e.path).startsWith(dir + path.sep))) {
      throw new UsageError(`--data-dir ${where.dataDir} cannot be used: ${reason} (${e.syscall ?? 'open'} ${e.path})`);
    }
    throw err;
  }
}

/**
 * On the first SIGTERM or SIGINT: say what happens, stop, exit. A second signal while stopping calls `hurry` if
 * given (a werker: end the drain, hand running builds back now), else exits at once; the one after that exits
 * at once. Supervisors send a second signal when they lose patience (compose after stop_grace_period sends
 * SIGKILL, which nothing can catch: keep the grace period above --drain).
 */
export function stopOnSignals(what: string, stop: () => Promise<void>, hurry?: { what: string; now: () => void }): void {
  let received = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    received++;
    if (received === 1) {
      console.log(`${signal}: ${what}`);
      stop().then(
        () => process.exit(0),
        (err) => {
          console.error(`shutdown failed: ${String(err)}`);
          process.exit(1);
        },
      );
    } else if (received === 2 && hurry) {
      console.log(`${signal} again: ${hurry.what} (one more to exit at once)`);
      hurry.now();
    } else {
      console.log(`${signal} again: exiting now`);
      process.exit(128 + (signal === 'SIGINT' ? 2 : 15));
    }
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
