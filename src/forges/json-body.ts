import { header, type WebhookHeaders } from './headers.js';
import { isObject, type JsonObject } from './fields.js';
import { WebhookError } from './webhook-error.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Parse a delivery body once, at the edge. Everything downstream reads the result through the checked accessors
 * in fields.ts, never by casting.
 */
export function parseJsonBody(headers: WebhookHeaders, rawBody: Uint8Array): JsonObject {
  const contentType = header(headers, 'content-type') ?? '';
  // GitHub's "application/x-www-form-urlencoded" option wraps the JSON in a form field; one format is enough.
  if (contentType.toLowerCase().startsWith('application/x-www-form-urlencoded')) {
    throw new WebhookError('webhook content type must be application/json (change it in the webhook settings)');
  }
  let text: string;
  try {
    text = utf8.decode(rawBody);
  } catch {
    throw new WebhookError('malformed JSON: the body is not valid UTF-8');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    throw new WebhookError(`malformed JSON: ${detail}`);
  }
  if (!isObject(value)) throw new WebhookError('malformed payload: the body must be a JSON object');
  return value;
}
