/**
 * One `ocelot up` per data dir, one `ocelot werker` per work dir. A second one on the same directory would take the
 * same werker id, expire the first one's leases as if its werker had died (or, for a werker, wipe its running
 * workspaces and kill its stages as orphans of a previous run), and re-run its builds: so the directory carries a
 * pid file, taken with O_EXCL, and a start-up that finds a live owner refuses with the reason. A pid file left by
 * a process that is gone (kill -9, power loss) is taken over.
 */
import fs from 'node:fs';
import path from 'node:path';

export class DataDirInUseError extends Error {
  override name = 'DataDirInUseError';
}

export interface DataDirLock {
  release(): void;
}

/** Files this process holds: a second start-up in the same process (tests, embedding) is refused as well. */
const held = new Set<string>();

/** Who takes the lock, for the refusal: the command and the flag that picks another directory. */
export interface LockOwner {
  command: string;
  flag: string;
}

const UP: LockOwner = { command: 'ocelot up', flag: '--data-dir' };

export function lockDataDir(dataDir: string, owner: LockOwner = UP): DataDirLock {
  const file = path.join(dataDir, 'ocelot.pid');
  const what = owner.flag === '--data-dir' ? 'data dir' : 'work dir';
  if (held.has(file)) throw new DataDirInUseError(`the ${what} ${dataDir} is already in use by this process`);
  for (let tries = 0; tries < 3; tries++) {
    try {
      const fd = fs.openSync(file, 'wx', 0o644);
      fs.writeSync(fd, `${process.pid}\n`);
      fs.closeSync(fd);
      held.add(file);
      return {
        release() {
          held.delete(file);
          try {
            if (fs.readFileSync(file, 'utf8').trim() === String(process.pid)) fs.unlinkSync(file);
          } catch {
            /* already gone */
          }
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const pid = Number(fs.readFileSync(file, 'utf8').trim());
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) {
      throw new DataDirInUseError(
        `the ${what} ${dataDir} is in use by another ${owner.command} (pid ${pid}); stop it first, or give this one another ${owner.flag}`,
      );
    }
    // Left by a process that is gone: take it over.
    fs.rmSync(file, { force: true });
  }
  throw new DataDirInUseError(`could not take ${file}: another ${owner.command} is starting on the same ${what}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
