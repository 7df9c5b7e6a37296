/**
 * Stage processes that outlived their werker. When a werker process dies hard (kill -9, OOM), the stages it ran
 * on the host keep running as orphans: the server re-queues the build, and without this sweep its stage would
 * run twice at once. Every host stage gets OCELOT_WERKER_ID in its environment; on start, before claiming
 * anything, a werker finds processes carrying its own id and kills their process groups (each stage is a group
 * of its own). Linux only (/proc); elsewhere the sweep finds nothing.
 */
import fs from 'node:fs';

export const WERKER_MARKER = 'OCELOT_WERKER_ID';

export interface HostSweepResult {
  /** Process groups killed. */
  killed: number[];
}

export function sweepHostOrphans(werkerId: string, procDir = '/proc'): HostSweepResult {
  const needle = Buffer.from(`\0${WERKER_MARKER}=${werkerId}\0`);
  const groups = new Set<number>();
  let entries: string[];
  try {
    entries = fs.readdirSync(procDir);
  } catch {
    return { killed: [] };
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    let environ: Buffer;
    let stat: string;
    try {
      environ = fs.readFileSync(`${procDir}/${entry}/environ`);
      stat = fs.readFileSync(`${procDir}/${entry}/stat`, 'utf8');
    } catch {
      continue; // gone, or not ours to read
    }
    // Prefix with NUL so the first variable matches too.
    if (!Buffer.concat([Buffer.from([0]), environ, Buffer.from([0])]).includes(needle)) continue;
    // Field 5 of stat is the process group; the command name (field 2) may contain spaces, so count from ')'.
    const pgid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
    if (Number.isInteger(pgid) && pgid > 1 && pgid !== process.pid) groups.add(pgid);
  }
  const killed: number[] = [];
  for (const pgid of groups) {
    try {
      process.kill(-pgid, 'SIGKILL');
      killed.push(pgid);
    } catch {
      /* already gone */
    }
  }
  return { killed };
}
