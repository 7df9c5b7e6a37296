/**
 * Stages die with their werker. A werker killed hard (kill -9, the OOM killer) cannot stop its stages, and they are
 * process groups of their own (setsid), so nothing else would: they would keep running while the server, once the
 * lease expires, retries the build on another werker — the same build running twice at once.
 *
 * The watchdog is one small bash process per werker process, in a process group of its own, reading a pipe whose
 * other end only the werker holds. The werker writes `+ <pgid>` when a stage starts and `- <pgid>` once its group
 * is gone. When the pipe closes — the werker exited, however it died — the watchdog sends SIGKILL to every group
 * still listed, then exits. A werker that exits normally has no stage left, so the list is empty.
 *
 * Why a shell and not the orphan sweep alone (sweep-orphans.ts): the sweep runs when the werker starts again, which
 * may be never, or after the retry already began elsewhere. The watchdog acts the moment the werker is gone, long
 * before the lease expires. It costs one fork per werker process and a pipe write per stage.
 *
 * Limits: a process that moved itself to another session escapes (as for every process-group kill); if the
 * watchdog itself is killed, the start-up sweep is what remains. Linux and other systems with bash.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import type { Writable } from 'node:stream';

// Ignores the signals a terminal or a supervisor sends to everything: it must outlive the werker to do its job.
// `${groups/ $pg / }` removes one listed group; group ids are only ever listed while their stage runs.
const SCRIPT = [
  "trap '' HUP INT TERM QUIT",
  "groups=' '",
  'while read -r op pg; do',
  '  case $op in',
  '    +) groups="$groups$pg " ;;',
  '    -) groups="${groups/ $pg / }" ;;',
  '  esac',
  'done',
  'for pg in $groups; do kill -KILL -- "-$pg" 2>/dev/null; done',
].join('\n');

export interface GroupWatchdog {
  /** List `pgid` until the returned function is called (after the group is gone). */
  watch(pgid: number): () => void;
}

let shared: { child: ChildProcess; stdin: Writable } | null | undefined;

/**
 * The watchdog of this process, started on first use. Null if it could not be started (no bash): stages then run
 * as before, and the start-up sweep is the only cleanup after a crash.
 */
export function groupWatchdog(): GroupWatchdog | null {
  if (shared === undefined) shared = start();
  const dog = shared;
  if (!dog) return null;
  return {
    watch(pgid) {
      send(dog.stdin, `+ ${pgid}\n`);
      let done = false;
      return () => {
        if (done) return;
        done = true;
        send(dog.stdin, `- ${pgid}\n`);
      };
    },
  };
}

function start(): { child: ChildProcess; stdin: Writable } | null {
  let child: ChildProcess;
  try {
    child = spawn('bash', ['--noprofile', '--norc', '-c', SCRIPT], { stdio: ['pipe', 'ignore', 'ignore'], detached: true });
  } catch {
    return null;
  }
  const stdin = child.stdin as Socket;
  // Neither the process nor its pipe may keep the werker's event loop alive: the watchdog lives as long as the
  // werker does, not the other way round.
  child.unref();
  stdin.unref();
  const gone = () => {
    if (shared?.child === child) shared = undefined;
  };
  child.once('error', gone);
  child.once('exit', gone);
  stdin.on('error', gone);
  return { child, stdin };
}

function send(stdin: Writable, line: string): void {
  if (!stdin.destroyed) stdin.write(line);
}
