/** Options of the docker runtime, and how per-build requests are clamped to the werker's ceiling. */
import type { RuntimeJob } from '../runtime.js';

export type PullPolicy = 'always' | 'if-not-present' | 'never';

export interface ResourceLimits {
  /** Hard memory limit in bytes (HostConfig.Memory). */
  memoryBytes?: number;
  /** CPU quota in units of 1e-9 CPUs (HostConfig.NanoCpus): 1.5 CPUs = 1_500_000_000. */
  nanoCpus?: number;
  /** Max number of processes in the container (HostConfig.PidsLimit). */
  pidsLimit?: number;
}

export interface DockerRuntimeOptions {
  /** Engine socket; default DOCKER_HOST, else /var/run/docker.sock. */
  socketPath?: string;
  pullPolicy: PullPolicy;
  /** Written into the `ocelot.werker` label; the sweeper only touches containers of this werker. */
  werkerId: string;
  /** The werker's ceiling; a build may ask for less (DockerRuntimeJob.limits), never more. */
  limits?: ResourceLimits;
  /**
   * Bind-mount the engine socket into build containers. Gives every build root on the werker host: only for
   * trusted repositories. The werker passes true only when its operator allows it AND the pipeline asks.
   */
  allowDockerSocket?: boolean;
  /** Docker network for build containers; default `bridge`. */
  network?: string;
  /** Path the workspace is mounted at inside the container; default /workspace. */
  workspaceMountPath?: string;
}

/** A RuntimeJob with the docker-only, per-build knobs. */
export interface DockerRuntimeJob extends RuntimeJob {
  /** What the pipeline file asks for; clamped to DockerRuntimeOptions.limits. */
  limits?: ResourceLimits;
  /**
   * true: the pipeline asks for the socket (mounted when the runtime allows it, else setup fails with the reason);
   * false: never mount it for this build; absent: mount it when the runtime allows it.
   */
  allowDockerSocket?: boolean;
}

export const DEFAULT_WORKSPACE_MOUNT = '/workspace';
export const DEFAULT_NETWORK = 'bridge';

function lower(ceiling: number | undefined, asked: number | undefined): number | undefined {
  if (ceiling === undefined || ceiling <= 0) return asked !== undefined && asked > 0 ? asked : undefined;
  if (asked === undefined || asked <= 0) return ceiling;
  return Math.min(ceiling, asked);
}

/** Effective limits: what the build asks for, but never above the werker's ceiling. */
export function clampLimits(ceiling: ResourceLimits = {}, asked: ResourceLimits = {}): ResourceLimits {
  const out: ResourceLimits = {};
  const memoryBytes = lower(ceiling.memoryBytes, asked.memoryBytes);
  const nanoCpus = lower(ceiling.nanoCpus, asked.nanoCpus);
  const pidsLimit = lower(ceiling.pidsLimit, asked.pidsLimit);
  if (memoryBytes !== undefined) out.memoryBytes = memoryBytes;
  if (nanoCpus !== undefined) out.nanoCpus = nanoCpus;
  if (pidsLimit !== undefined) out.pidsLimit = pidsLimit;
  return out;
}

function mib(bytes: number): string {
  const n = bytes / (1024 * 1024);
  return Number.isInteger(n) ? `${n} MiB` : `${bytes} bytes`;
}

/**
 * The limits a container gets, for the setup log, naming those the werker's ceiling lowered, so a build that
 * asked for more than it got can tell why it runs out of memory. Empty when there are no limits.
 */
export function describeLimits(effective: ResourceLimits, asked: ResourceLimits = {}): string {
  const parts: string[] = [];
  const lowered = (key: keyof ResourceLimits): string =>
    asked[key] !== undefined && effective[key] !== undefined && asked[key]! > effective[key]! ? ' (lowered to the werker\'s ceiling)' : '';
  if (effective.memoryBytes) parts.push(`memory ${mib(effective.memoryBytes)}${lowered('memoryBytes')}`);
  if (effective.nanoCpus) parts.push(`cpus ${effective.nanoCpus / 1e9}${lowered('nanoCpus')}`);
  if (effective.pidsLimit) parts.push(`pids ${effective.pidsLimit}${lowered('pidsLimit')}`);
  return parts.join(', ');
}

/**
 * A pipeline's `resources:` (memory in bytes, CPUs, pids) in the engine's units. Structural on purpose: the
 * runtime does not depend on the pipeline engine's types.
 */
export function requestedLimits(r: { memoryBytes?: number; cpus?: number; pids?: number } = {}): ResourceLimits {
  const limits: ResourceLimits = {};
  if (r.memoryBytes !== undefined) limits.memoryBytes = r.memoryBytes;
  if (r.cpus !== undefined) limits.nanoCpus = Math.round(r.cpus * 1e9);
  if (r.pids !== undefined) limits.pidsLimit = r.pids;
  return limits;
}
