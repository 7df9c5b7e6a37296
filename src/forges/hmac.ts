import { createHmac, timingSafeEqual } from 'node:crypto';
import type { VerifyResult } from './forge.js';
import { headerValues, type WebhookHeaders } from './headers.js';

const PREFIX = 'sha256=';
const HEX_SHA256 = /^[0-9a-fA-F]{64}$/;

/** `sha256=<hex HMAC-SHA256 of body>`: the header value GitHub and Bitbucket both send. */
export function sha256SignatureValue(body: Uint8Array | string, secret: string): string {
  return PREFIX + createHmac('sha256', secret).update(body).digest('hex');
}

/**
 * Check a `sha256=<hex>` HMAC header against the raw body. The body must be the bytes as received: any
 * re-serialization (JSON.parse + stringify) changes them and the signature would no longer be the forge's.
 */
export function verifySha256Header(
  headers: WebhookHeaders,
  headerName: string,
  rawBody: Uint8Array,
  secret: string,
): VerifyResult {
  // An empty secret would make every signature forgeable by anyone who knows we use HMAC; refuse outright.
  if (secret.length === 0) return { ok: false, reason: 'no webhook secret is configured on this server' };
  const values = headerValues(headers, headerName);
  if (values.length === 0) {
    return { ok: false, reason: `missing ${headerName} header: set a secret on the webhook` };
  }
  // Two signature headers could be a smuggling attempt; no forge sends that.
  if (values.length > 1) return { ok: false, reason: `more than one ${headerName} header` };
  const value = (values[0] ?? '').trim();
  if (/^sha1=/i.test(value)) {
    return { ok: false, reason: `${headerName} is a SHA-1 signature; SHA-1 signatures are not accepted: set the webhook to SHA-256 ("sha256=<hex>")` };
  }
  // The algorithm name and the hex digits are both case-insensitive.
  if (value.slice(0, PREFIX.length).toLowerCase() !== PREFIX) {
    return { ok: false, reason: `${headerName} must be "sha256=<hex>" (other algorithms are not accepted)` };
  }
  const hex = value.slice(PREFIX.length);
  if (!HEX_SHA256.test(hex)) return { ok: false, reason: `${headerName} is not a sha256 hex digest` };

  const given = Buffer.from(hex, 'hex');
  const expected = createHmac('sha256', secret).update(rawBody).digest();
  // timingSafeEqual throws on different lengths; the regex above guarantees 32 bytes, but check anyway.
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { ok: false, reason: `${headerName} does not match the body: check the webhook secret` };
  }
  return { ok: true };
}
