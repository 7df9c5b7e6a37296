/** Public surface of the docker runtime. */
export { createDockerRuntime, type DockerRuntime } from './docker-runtime.js';
export { DockerSession } from './session.js';
export {
  clampLimits,
  describeLimits,
  requestedLimits,
  DEFAULT_NETWORK,
  DEFAULT_WORKSPACE_MOUNT,
  type DockerRuntimeJob,
  type DockerRuntimeOptions,
  type PullPolicy,
  type ResourceLimits,
} from './options.js';
export { sweepOrphans, type SweepOptions, type SweepResult } from './sweeper.js';
export { probeDocker, type DockerHealth, type ProbeOptions } from './health.js';
export { connectDocker, MAX_API_VERSION, type DockerConnectionOptions } from './client.js';
export { LABEL_ATTEMPT, LABEL_BUILD, LABEL_KEEP, LABEL_MANAGED, LABEL_WERKER } from './labels.js';
