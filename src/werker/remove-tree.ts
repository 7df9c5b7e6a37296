/**
 * Removing a finished build's workspace. Most workspaces are small, and for them a synchronous walk is cheapest:
 * direct system calls, where `fs.rm` sends each lstat, readdir, unlink and rmdir through libuv's thread pool (a
 * thread wake-up apiece). A big tree (a node_modules, a build output) must not hold the event loop, though: other
 * slots' lease renewals and log shipping run on it. So the walk has a budget of entries; past it, what is left
 * is removed asynchronously.
 */
import fs from 'node:fs';
import path from 'node:path';

/** Entries removed synchronously before the rest is handed to fs.rm (a few milliseconds' worth). */
const SYNC_BUDGET = 500;

export async function removeTree(dir: string): Promise<void> {
  const budget = { left: SYNC_BUDGET };
  try {
    if (removeSync(dir, budget)) return;
  } catch {
    // Anything odd (permissions, a file appearing meanwhile): the thorough path below deals with it.
  }
  await fs.promises.rm(dir, { recursive: true, force: true });
}

/** True when `target` is gone; false when the budget ran out first (what was removed stays removed). */
function removeSync(target: string, budget: { left: number }): boolean {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(target, { withFileTypes: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return true;
    if (code !== 'ENOTDIR') throw err;
    fs.unlinkSync(target);
    return true;
  }
  for (const entry of entries) {
    if (--budget.left < 0) return false;
    const p = path.join(target, entry.name);
    if (entry.isDirectory()) {
      if (!removeSync(p, budget)) return false;
    } else {
      fs.unlinkSync(p);
    }
  }
  fs.rmdirSync(target);
  return true;
}
