/**
 * The docker Runtime: every build runs in one container started from the pipeline's image, each stage as an exec
 * in it. prepare() does everything that can fail before user code runs (engine reachable, image present, container
 * started) and reports it as RuntimeSetupError, so it lands in the `setup` stage with a reason.
 */
import type Docker from 'dockerode';
import { RuntimeSetupError, type Runtime, type RuntimeJob, type StageOutput } from '../runtime.js';
import { connectDocker, hostSocketPath, type NegotiatedClient } from './client.js';
import { startBuildContainer } from './container.js';
import { engineMessage } from './errors.js';
import { ensureImage } from './image.js';
import { buildLabels } from './labels.js';
import {
  clampLimits,
  describeLimits,
  DEFAULT_NETWORK,
  DEFAULT_WORKSPACE_MOUNT,
  type DockerRuntimeJob,
  type DockerRuntimeOptions,
} from './options.js';
import { DockerSession } from './session.js';

export interface DockerRuntime extends Runtime {
  readonly name: 'docker';
  prepare(job: RuntimeJob | DockerRuntimeJob, output: StageOutput, signal: AbortSignal): Promise<DockerSession>;
}

export function createDockerRuntime(opts: DockerRuntimeOptions): DockerRuntime {
  const workspacePath = opts.workspaceMountPath ?? DEFAULT_WORKSPACE_MOUNT;
  // One negotiated client per runtime; a failed connection is retried on the next build (the engine may be back).
  let client: Promise<NegotiatedClient> | null = null;
  const getClient = (): Promise<NegotiatedClient> => {
    if (!client) {
      const conn = opts.socketPath ? { socketPath: opts.socketPath } : {};
      client = connectDocker(conn).catch((err: unknown) => {
        client = null;
        throw new RuntimeSetupError(`Docker engine not reachable: ${engineMessage(err)}`);
      });
    }
    return client;
  };

  return {
    name: 'docker',
    async prepare(job: DockerRuntimeJob, output: StageOutput, signal: AbortSignal): Promise<DockerSession> {
      if (!job.image) throw new RuntimeSetupError('the docker runtime needs an image (pipeline key `image`)');
      const { docker, apiVersion } = await getClient();
      output.write(`docker engine API ${apiVersion}\n`);
      const image = await ensureImage(docker, job.image, opts.pullPolicy, output, signal);
      if (signal.aborted) throw new RuntimeSetupError('cancelled during setup');

      // A pipeline that asks for the socket on a werker that refuses it fails here, before any user code, rather
      // than later at its first `docker` command with a vaguer error.
      if (job.allowDockerSocket === true && !opts.allowDockerSocket) {
        throw new RuntimeSetupError(
          'this pipeline asks for the Docker socket (dockerSocket: true), which this werker does not allow; ' +
            'its operator can allow it with --allow-docker-socket (builds then have root on the werker host)',
        );
      }
      let socketHostPath: string | undefined;
      if (opts.allowDockerSocket && job.allowDockerSocket !== false) {
        socketHostPath = hostSocketPath(opts.socketPath ? { socketPath: opts.socketPath } : {});
        if (!socketHostPath) {
          throw new RuntimeSetupError('cannot mount the Docker socket: the engine is not on a local unix socket');
        }
        output.write(`mounting the Docker socket at /var/run/docker.sock (this build has root on the werker host)\n`);
      }
      const limits = clampLimits(opts.limits, job.limits);
      const limitText = describeLimits(limits, job.limits);
      if (limitText) output.write(`limits: ${limitText}\n`);
      const container: Docker.Container = await startBuildContainer(docker, {
        image,
        buildId: job.buildId,
        attempt: job.attempt,
        labels: buildLabels({
          buildId: job.buildId,
          attempt: job.attempt,
          werkerId: opts.werkerId || job.werkerId,
          keep: job.keepContainer === true,
        }),
        workspaceHostPath: job.workspaceHostPath,
        workspacePath,
        limits,
        network: opts.network ?? DEFAULT_NETWORK,
        ...(socketHostPath ? { dockerSocketHostPath: socketHostPath } : {}),
        env: [`WORKSPACE=${workspacePath}`],
      });
      output.write(`started container ${container.id.slice(0, 12)} from ${image}\n`);
      const session = new DockerSession({
        container,
        containerId: container.id,
        workspacePath,
        keepContainer: job.keepContainer === true,
        setupOutput: output,
      });
      // A cancel that arrived while the container was starting must not leave it behind.
      if (signal.aborted) {
        await session.destroy();
        throw new RuntimeSetupError('cancelled during setup');
      }
      return session;
    },
  };
}
