/**
 * Helpers for the docker runtime tests (not part of the runtime): an in-memory StageOutput, the engine check
 * that FAILS a test run when no engine answers (skipping silently would hide a broken CI machine), and job
 * scaffolding. Lives beside the tests; excluded from nothing because it is tiny and has no side effects.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StageOutput, StageRun } from '../runtime.js';
import { probeDocker } from './health.js';

export const TEST_IMAGE = process.env.OCELOT_TEST_IMAGE ?? 'ocelot-test/busybox:latest';
export const SKIP_DOCKER = process.env.OCELOT_SKIP_DOCKER_TESTS === '1';

/** Collects every write, in order. `fd` is -1: the docker runtime never hands fds to processes. */
export class MemoryOutput implements StageOutput {
  readonly fd = -1;
  private readonly chunks: Buffer[] = [];
  write(data: string | Uint8Array): void {
    this.chunks.push(typeof data === 'string' ? Buffer.from(data) : Buffer.from(data));
  }
  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
  get bytes(): number {
    return this.chunks.reduce((n, c) => n + c.length, 0);
  }
}

export async function requireDocker(): Promise<void> {
  const health = await probeDocker({ timeoutMs: 5000 });
  if (!health.ok) {
    throw new Error(
      `docker runtime tests need a Docker engine: ${health.reason}. ` +
        'Run scripts/ensure-docker.sh (installs and starts one), or set OCELOT_SKIP_DOCKER_TESTS=1 to skip.',
    );
  }
}

export function tempWorkspace(): { path: string; cleanup(): void } {
  const path = mkdtempSync(join(tmpdir(), 'ocelot-docker-ws-'));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

let nextBuild = 900_000 + Math.floor(Math.random() * 90_000);
export function newBuildId(): number {
  return nextBuild++;
}

export function stage(script: string[], extra: Partial<StageRun> = {}): StageRun {
  return {
    name: 'test',
    script,
    env: [],
    timeoutMs: 60_000,
    killGraceMs: 2_000,
    output: new MemoryOutput(),
    signal: new AbortController().signal,
    ...extra,
  };
}
