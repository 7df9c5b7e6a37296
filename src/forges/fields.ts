import { WebhookError } from './webhook-error.js';

/**
 * Checked readers over untrusted JSON. Each takes the dotted path of the field so a 400 names exactly what was
 * missing ("payload is missing pull_request.head.sha"), which is what a user fixing a proxy or a test needs.
 */
export type JsonObject = { readonly [key: string]: unknown };

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function missing(path: string, what: string): WebhookError {
  return new WebhookError(`payload is missing ${path} (${what})`);
}

function child(parent: JsonObject, key: string): unknown {
  return Object.prototype.hasOwnProperty.call(parent, key) ? parent[key] : undefined;
}

export function requireObject(parent: JsonObject, key: string, path: string): JsonObject {
  const value = child(parent, key);
  if (!isObject(value)) throw missing(path, 'an object');
  return value;
}

/** An object, or undefined when absent or null (forges send null for "not applicable"). */
export function optionalObject(parent: JsonObject, key: string, path: string): JsonObject | undefined {
  const value = child(parent, key);
  if (value === undefined || value === null) return undefined;
  if (!isObject(value)) throw new WebhookError(`payload field ${path} must be an object`);
  return value;
}

export function requireString(parent: JsonObject, key: string, path: string): string {
  const value = child(parent, key);
  if (typeof value !== 'string' || value.length === 0) throw missing(path, 'a non-empty string');
  return value;
}

/** A string, or undefined when absent, null or empty. */
export function optionalString(parent: JsonObject, key: string, path: string): string | undefined {
  const value = child(parent, key);
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw new WebhookError(`payload field ${path} must be a string`);
  return value;
}

export function requireInteger(parent: JsonObject, key: string, path: string): number {
  const value = child(parent, key);
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw missing(path, 'an integer');
  return value;
}

export function optionalBoolean(parent: JsonObject, key: string, path: string): boolean | undefined {
  const value = child(parent, key);
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw new WebhookError(`payload field ${path} must be true or false`);
  return value;
}

/** An array of objects, or undefined when absent or null. */
export function optionalObjectArray(parent: JsonObject, key: string, path: string): JsonObject[] | undefined {
  const value = child(parent, key);
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || !value.every(isObject)) {
    throw new WebhookError(`payload field ${path} must be a list of objects`);
  }
  return value;
}

/** An array of strings, or undefined when absent or null. */
export function optionalStringArray(parent: JsonObject, key: string, path: string): string[] | undefined {
  const value = child(parent, key);
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || !value.every((v): v is string => typeof v === 'string')) {
    throw new WebhookError(`payload field ${path} must be a list of strings`);
  }
  return value;
}

const COMMIT_ID = /^[0-9a-f]{7,64}$/i;

/** A commit id (abbreviated or full, SHA-1 or SHA-256). Checked because it ends up in git command lines. */
export function requireCommitId(parent: JsonObject, key: string, path: string): string {
  const value = requireString(parent, key, path);
  if (!COMMIT_ID.test(value)) throw new WebhookError(`payload field ${path} is not a commit id: ${JSON.stringify(value)}`);
  return value.toLowerCase();
}
