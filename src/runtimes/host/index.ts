export { createHostRuntime, type HostRuntimeOptions } from './host-runtime.js';
export { PASSTHROUGH_ENV } from './stage-env.js';
export { sweepHostOrphans, WERKER_MARKER, type HostSweepResult } from './sweep-orphans.js';
