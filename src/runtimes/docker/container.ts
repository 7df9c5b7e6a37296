/**
 * Creates and starts the one container a build runs in. Its main process only has to stay alive: stages arrive
 * as execs. It blocks reading an open stdin that nobody writes to, which needs nothing but sh builtins (no
 * `sleep`, so no cap like the original's one hour), and falls back to a sleep loop if stdin ever closes.
 */
import { randomBytes } from 'node:crypto';
import type Docker from 'dockerode';
import { RuntimeSetupError } from '../runtime.js';
import { engineMessage } from './errors.js';
import type { ResourceLimits } from './options.js';

export const KEEPALIVE_SCRIPT = 'while read -r _; do :; done; while :; do sleep 86400; done';
const CONTAINER_SOCKET = '/var/run/docker.sock';

export interface BuildContainerSpec {
  image: string;
  buildId: number;
  attempt: number;
  labels: Record<string, string>;
  workspaceHostPath: string;
  workspacePath: string;
  limits: ResourceLimits;
  network: string;
  /** Host path of the engine socket to mount at /var/run/docker.sock, or undefined for none. */
  dockerSocketHostPath?: string;
  env: string[];
}

function createOptions(spec: BuildContainerSpec, init: boolean): Docker.ContainerCreateOptions {
  const binds = [`${spec.workspaceHostPath}:${spec.workspacePath}`];
  if (spec.dockerSocketHostPath) binds.push(`${spec.dockerSocketHostPath}:${CONTAINER_SOCKET}`);
  const hostConfig: Docker.HostConfig = {
    Binds: binds,
    NetworkMode: spec.network,
    // tini-style init reaps zombies that build scripts leave behind and forwards SIGTERM on stop.
    Init: init,
  };
  if (spec.limits.memoryBytes) hostConfig.Memory = spec.limits.memoryBytes;
  if (spec.limits.nanoCpus) hostConfig.NanoCpus = spec.limits.nanoCpus;
  if (spec.limits.pidsLimit) hostConfig.PidsLimit = spec.limits.pidsLimit;
  return {
    name: `ocelot-${spec.buildId}-${spec.attempt}-${randomBytes(3).toString('hex')}`,
    Image: spec.image,
    // Override any ENTRYPOINT: the image's own entrypoint might exit or need arguments we do not have.
    Entrypoint: ['sh', '-c', KEEPALIVE_SCRIPT],
    Cmd: [],
    Env: spec.env,
    WorkingDir: spec.workspacePath,
    Labels: spec.labels,
    OpenStdin: true,
    StdinOnce: false,
    AttachStdin: false,
    AttachStdout: false,
    AttachStderr: false,
    Tty: false,
    HostConfig: hostConfig,
  };
}

async function createAndStart(docker: Docker, spec: BuildContainerSpec, init: boolean): Promise<Docker.Container> {
  const container = await docker.createContainer(createOptions(spec, init));
  try {
    await container.start();
  } catch (err) {
    await container.remove({ force: true }).catch(() => undefined);
    throw err;
  }
  return container;
}

/** Creates and starts the build container; retries without Init on engines that have no init binary. */
export async function startBuildContainer(docker: Docker, spec: BuildContainerSpec): Promise<Docker.Container> {
  try {
    return await createAndStart(docker, spec, true);
  } catch (err) {
    const why = engineMessage(err);
    // Engines packaged without docker-init (tini) refuse Init: true; the build still works without it.
    if (/docker-init/i.test(why)) {
      try {
        return await createAndStart(docker, spec, false);
      } catch (err2) {
        throw new RuntimeSetupError(`cannot start container from ${spec.image}: ${engineMessage(err2)}`);
      }
    }
    const hint = /"sh"|executable file not found/.test(why) ? ' (the image needs a POSIX sh on its PATH)' : '';
    throw new RuntimeSetupError(`cannot start container from ${spec.image}: ${why}${hint}`);
  }
}
