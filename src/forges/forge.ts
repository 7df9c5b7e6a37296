import type { ForgeName, NormalizeResult } from '../events/model.js';
import type { WebhookHeaders } from './headers.js';

export type { WebhookHeaders } from './headers.js';
export { WebhookError } from './webhook-error.js';

/** Outcome of checking a delivery's signature. A failure means 401; `reason` is safe to show the sender. */
export type VerifyResult = { ok: true } | { ok: false; reason: string };

/**
 * One forge's webhook intake. Pure functions over (headers, raw body bytes): the HTTP server reads the body,
 * enforces the size limit, calls `verifySignature` on the exact bytes received, dedupes on `deliveryId`, then
 * calls `normalize`.
 */
export interface Forge {
  readonly name: ForgeName;
  /** Header carrying the signature, for messages and docs (e.g. `X-Hub-Signature-256`). */
  readonly signatureHeader: string;
  /** Header naming the event, for messages and docs (e.g. `X-GitHub-Event`). */
  readonly eventHeader: string;
  verifySignature(headers: WebhookHeaders, rawBody: Uint8Array, secret: string): VerifyResult;
  /** The forge's id of this delivery; the same on a redelivery, so the server can answer it once. */
  deliveryId(headers: WebhookHeaders): string | undefined;
  /**
   * Turn a delivery into build events, or say why it builds nothing.
   * @throws WebhookError (400) for malformed JSON, a missing or unknown event header, or a payload lacking a
   *   field we need.
   */
  normalize(headers: WebhookHeaders, rawBody: Uint8Array): NormalizeResult;
}
