/**
 * Wires the docker runtime into a werker: health (stop claiming docker builds while the engine does not answer)
 * and orphan sweeping (on start and after every build). Returns the provider even when the engine is down right
 * now, so the werker resumes docker builds by itself when the engine comes back.
 */
import {
  createDockerRuntime,
  probeDocker,
  sweepOrphans,
  type PullPolicy,
  type ResourceLimits,
} from '../runtimes/docker/index.js';
import type { Runtime } from '../runtimes/runtime.js';
import type { RuntimeProvider } from '../werker/werker.js';

export interface DockerProviderOptions {
  werkerId: string;
  pullPolicy?: PullPolicy;
  keepContainers?: boolean;
  /** The operator allows builds that ask for it (`dockerSocket: true`) to get the engine socket. */
  allowDockerSocket?: boolean;
  /** The werker's ceiling for build containers; pipelines may ask for less. */
  limits?: ResourceLimits;
  /** Engine socket; default DOCKER_HOST, else /var/run/docker.sock. Health, sweeps and builds all use it. */
  socketPath?: string;
  /** Is this build attempt still running on this werker? (containers of others are orphans) */
  isRunning: (buildId: number, attempt: number) => boolean;
  log: (msg: string) => void;
}

export interface DockerProvider extends RuntimeProvider {
  sweep(): Promise<void>;
}

export async function dockerProvider(opts: DockerProviderOptions): Promise<DockerProvider> {
  const conn = opts.socketPath ? { socketPath: opts.socketPath } : {};
  const runtime = createDockerRuntime({
    ...conn,
    pullPolicy: opts.pullPolicy ?? 'if-not-present',
    werkerId: opts.werkerId,
    allowDockerSocket: opts.allowDockerSocket ?? false,
    ...(opts.limits ? { limits: opts.limits } : {}),
  });
  const keep = opts.keepContainers === true;
  const wrapped: Runtime = keep
    ? { name: runtime.name, prepare: (job, output, signal) => runtime.prepare({ ...job, keepContainer: true }, output, signal) }
    : runtime;
  const sweep = async () => {
    const health = await probeDocker({ ...conn, timeoutMs: 2_000 });
    if (!health.ok) return;
    const result = await sweepOrphans({ ...conn, werkerId: opts.werkerId, isBuildRunning: opts.isRunning });
    if (result.removed.length) opts.log(`docker: removed ${result.removed.length} orphaned build container(s)`);
    for (const f of result.failed) opts.log(`docker: could not remove container ${f.id}: ${f.reason}`);
  };
  await sweep().catch((err) => opts.log(`docker: orphan sweep failed: ${String(err)}`));
  return {
    runtime: wrapped,
    health: async () => {
      const h = await probeDocker({ ...conn, timeoutMs: 2_000 });
      return h.ok ? { ok: true } : { ok: false, reason: h.reason };
    },
    sweep,
  };
}

/**
 * `ocelot run --runtime docker`: the same runtime, for one local run. The socket is granted when the pipeline asks:
 * whoever runs `ocelot run` talks to this engine already, so mounting it gives the build nothing they lack.
 */
export function localDockerRuntime(opts: { pullPolicy?: PullPolicy; socketPath?: string } = {}): Runtime {
  return createDockerRuntime({
    ...(opts.socketPath ? { socketPath: opts.socketPath } : {}),
    pullPolicy: opts.pullPolicy ?? 'if-not-present',
    werkerId: 'local',
    allowDockerSocket: true,
  });
}
