/**
 * The host runtime as a werker uses it (embedded or remote): first, stages that a crashed previous run of this
 * werker left running are killed — otherwise they would run alongside their retry — then the runtime itself.
 */
import { createHostRuntime, sweepHostOrphans } from '../runtimes/host/index.js';
import type { RuntimeProvider } from '../werker/werker.js';

export function hostProvider(werkerId: string, log: (msg: string) => void): RuntimeProvider {
  const orphans = sweepHostOrphans(werkerId);
  if (orphans.killed.length) log(`killed ${orphans.killed.length} stage process group(s) left running by this werker's previous run`);
  return { runtime: createHostRuntime() };
}
