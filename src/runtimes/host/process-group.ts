/**
 * Process-group control for host stages. Every stage runs as the leader of its own process group (spawned with
 * `detached: true`, i.e. setsid), so one `kill(-pgid)` reaches the shell and everything it started, however
 * deep, unless a process deliberately moved itself to another session (a daemon calling setsid escapes; that is
 * the documented limit of process-group cleanup without cgroups).
 *
 * "Is anything left?" must ignore zombies: orphans of a stage are re-parented to PID 1, and when PID 1 is not a
 * diligent reaper (a container whose PID 1 is node or a supervisor) their zombies stay in the group for a long
 * time. kill(-pgid, 0) counts them, so on Linux we look at /proc for members that are actually alive.
 */
import fs from 'node:fs/promises';

/** Send `signal` to the whole group; false when the group no longer exists. */
export function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    // ESRCH: nobody left in the group. (EPERM would mean someone else's group: leave it alone.)
    return false;
  }
}

/** Whether the group has a member that is not a zombie. One kill(2) when the group is empty (the usual case). */
export async function groupHasLiveMembers(pgid: number): Promise<boolean> {
  if (!signalGroup(pgid, 0)) return false;
  if (process.platform !== 'linux') return true;
  let pids: string[];
  try {
    pids = await fs.readdir('/proc');
  } catch {
    return true;
  }
  for (const pid of pids) {
    if (pid.charCodeAt(0) < 48 || pid.charCodeAt(0) > 57) continue;
    let stat: string;
    try {
      stat = await fs.readFile(`/proc/${pid}/stat`, 'latin1');
    } catch {
      continue; // exited meanwhile
    }
    // "pid (comm) state ppid pgrp ..." — comm may contain spaces and parentheses, so parse after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) === pgid && fields[0] !== 'Z' && fields[0] !== 'X') return true;
  }
  return false;
}

const POLL_MS = 25;
/** After SIGKILL, how long to wait for the kernel to finish the processes off before giving up on waiting. */
const AFTER_KILL_MS = 1_000;

/**
 * Stop a process group: SIGTERM to all of it, then SIGKILL to whatever is still alive after `graceMs`.
 * Resolves once no live member is left (or, in the pathological case of a process stuck in the kernel, a moment
 * after SIGKILL). Polls only while something is alive.
 */
export async function terminateGroup(pgid: number, graceMs: number): Promise<void> {
  if (!signalGroup(pgid, 'SIGTERM')) return;
  if (await waitGone(pgid, graceMs)) return;
  signalGroup(pgid, 'SIGKILL');
  await waitGone(pgid, AFTER_KILL_MS);
}

async function waitGone(pgid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (!(await groupHasLiveMembers(pgid))) return true;
    const left = deadline - Date.now();
    if (left <= 0) return false;
    await new Promise((r) => setTimeout(r, Math.min(POLL_MS, left)));
  }
}
