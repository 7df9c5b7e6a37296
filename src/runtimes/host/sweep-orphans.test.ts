import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { sweepHostOrphans, WERKER_MARKER } from './sweep-orphans.js';

const started: ChildProcess[] = [];
afterEach(() => {
  for (const c of started.splice(0)) if (c.exitCode === null && c.signalCode === null) process.kill(-c.pid!, 'SIGKILL');
});

/** A stage-like process group: a shell with a child, carrying a werker id, in a group of its own. */
function stage(werkerId: string): ChildProcess {
  const c = spawn('bash', ['-c', 'sleep 300 & wait'], { detached: true, stdio: 'ignore', env: { PATH: process.env.PATH, [WERKER_MARKER]: werkerId } });
  started.push(c);
  return c;
}

const exited = (c: ChildProcess) => new Promise<NodeJS.Signals | null>((r) => c.once('exit', (_code, sig) => r(sig)));

describe('host orphan sweep', () => {
  it('kills the process groups carrying this werker id, and only those', async () => {
    const mine = `w-${randomUUID()}`;
    const ours = stage(mine);
    const theirs = stage(`w-${randomUUID()}`);
    await new Promise((r) => setTimeout(r, 200)); // let bash start its child
    const gone = exited(ours);
    const result = sweepHostOrphans(mine);
    expect(result.killed).toEqual([ours.pid]);
    expect(await gone).toBe('SIGKILL');
    expect(theirs.exitCode).toBeNull();
    expect(() => process.kill(theirs.pid!, 0)).not.toThrow();
  });

  it('finds nothing when no process carries the id', () => {
    expect(sweepHostOrphans(`w-${randomUUID()}`)).toEqual({ killed: [] });
  });
});
