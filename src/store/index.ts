/** The store's public face: the interface, the factory, and the row shapes. */
export { createStore } from './create-store.js';
export { redactDatabaseUrl, maskDatabaseSecrets } from './database-url.js';
export type * from './store.js';
export { attemptLogPath } from './log-files.js';
export { ADMIN_OWNER, LOCAL_OWNER } from './werkers.js';
export { FINAL_BUILD_STATES } from './schema.js';
export type { BuildState, StageState, StageKind, AttemptState } from './schema.js';
