export { createHostRuntime, type HostRuntimeOptions } from './host-runtime.js';
export { PASSTHROUGH_ENV } from './stage-env.js';
