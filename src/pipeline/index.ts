/**
 * Public API of the pipeline engine: parse and validate ocelot.yml, the trigger language, planning, and
 * the JSON Schema. Pure: nothing here touches files, processes or the network.
 */
export type * from './types.js';
export { parsePipeline, MAX_PIPELINE_BYTES } from './parse.js';
export { formatIssue, toPointer, type PathSegment } from './issues.js';
export { parseTrigger, anyOf } from './trigger.js';
export { describeCondition, evaluateCondition } from './trigger-eval.js';
export { plan } from './plan.js';
export { pipelineSchema } from './schema.js';
export { branchMatches, compileBranchPattern, ALL_BRANCHES } from './branch-pattern.js';
export { parseDuration } from './duration.js';
export { parseMemory, formatBytes, MIN_MEMORY_BYTES } from './resources.js';
