import type { NormalizeResult } from '../../events/model.js';
import { optionalObject, type JsonObject } from '../fields.js';

/** GitHub pings a hook when it is created: answer 2xx so the hook shows green, build nothing. */
export function normalizeGithubPing(payload: JsonObject): NormalizeResult {
  const id = payload['hook_id'] ?? optionalObject(payload, 'hook', 'hook')?.['id'];
  const which = typeof id === 'number' || typeof id === 'string' ? ` (hook id ${id})` : '';
  return { outcome: 'ignore', reason: `ping received${which}` };
}
