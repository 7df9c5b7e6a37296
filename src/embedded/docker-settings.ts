/**
 * The werker operator's docker settings (`ocelot up` flags, OCELOT_DOCKER_* in the environment), checked and
 * turned into runtime options in one place so every command that starts a werker reads them the same way.
 */
import { formatBytes, MIN_MEMORY_BYTES, parseMemory } from '../pipeline/resources.js';
import type { PullPolicy, ResourceLimits } from '../runtimes/docker/index.js';

export interface DockerFlags {
  dockerMemory?: string;
  dockerCpus?: string;
  dockerPids?: string;
  allowDockerSocket?: boolean | string;
  pullPolicy?: string;
  dockerSocket?: string;
}

export interface DockerSettings {
  pullPolicy: PullPolicy;
  /** The ceiling for every build container of this werker. */
  limits: ResourceLimits;
  allowDockerSocket: boolean;
  socketPath?: string;
}

export class DockerSettingsError extends Error {
  override name = 'DockerSettingsError';
}

const POLICIES: readonly PullPolicy[] = ['always', 'if-not-present', 'never'];

/** `--flag` values win; the environment fills in what the command line leaves out. */
export function dockerSettingsFrom(flags: DockerFlags, env: NodeJS.ProcessEnv = process.env): DockerSettings {
  const pick = (flag: string | undefined, name: string): string | undefined => {
    const v = flag ?? env[name];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };
  const limits: ResourceLimits = {};

  const memory = pick(flags.dockerMemory, 'OCELOT_DOCKER_MEMORY');
  if (memory !== undefined) {
    const bytes = parseMemory(/^\d+$/.test(memory) ? Number(memory) : memory);
    if (bytes === undefined || bytes < MIN_MEMORY_BYTES) {
      throw new DockerSettingsError(
        `--docker-memory / OCELOT_DOCKER_MEMORY must be a size of at least 6m such as 2g or 512m, got '${memory}'` +
          (bytes !== undefined ? ` (${formatBytes(bytes)})` : ''),
      );
    }
    limits.memoryBytes = bytes;
  }
  const cpus = pick(flags.dockerCpus, 'OCELOT_DOCKER_CPUS');
  if (cpus !== undefined) {
    const n = Number(cpus);
    if (!Number.isFinite(n) || n <= 0) throw new DockerSettingsError(`--docker-cpus / OCELOT_DOCKER_CPUS must be a number above 0 such as 2 or 1.5, got '${cpus}'`);
    limits.nanoCpus = Math.round(n * 1e9);
  }
  const pids = pick(flags.dockerPids, 'OCELOT_DOCKER_PIDS');
  if (pids !== undefined) {
    const n = Number(pids);
    if (!Number.isSafeInteger(n) || n <= 0) throw new DockerSettingsError(`--docker-pids / OCELOT_DOCKER_PIDS must be a whole number above 0, got '${pids}'`);
    limits.pidsLimit = n;
  }

  const policy = pick(flags.pullPolicy, 'OCELOT_DOCKER_PULL_POLICY') ?? 'if-not-present';
  if (!(POLICIES as readonly string[]).includes(policy)) {
    throw new DockerSettingsError(`--pull-policy / OCELOT_DOCKER_PULL_POLICY must be one of ${POLICIES.join(', ')}, got '${policy}'`);
  }

  const allow = flags.allowDockerSocket === true || flags.allowDockerSocket === 'true' || /^(1|true|yes)$/i.test(env.OCELOT_DOCKER_ALLOW_SOCKET ?? '');
  const socket = pick(flags.dockerSocket, 'OCELOT_DOCKER_SOCKET');
  const settings: DockerSettings = { pullPolicy: policy as PullPolicy, limits, allowDockerSocket: allow };
  if (socket !== undefined) {
    if (/^(tcp|ssh|https?):\/\//.test(socket)) {
      throw new DockerSettingsError(`--docker-socket / OCELOT_DOCKER_SOCKET takes a unix socket path; for ${socket} set DOCKER_HOST instead`);
    }
    settings.socketPath = socket.replace(/^unix:\/\//, '');
  }
  return settings;
}
