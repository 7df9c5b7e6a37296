import { sha256SignatureValue } from '../hmac.js';
import { GITHUB_DELIVERY_HEADER, GITHUB_EVENT_HEADER, GITHUB_SIGNATURE_HEADER } from './forge.js';

/** The `X-Hub-Signature-256` value GitHub would send for `body` signed with `secret`. */
export function signGithub(body: Uint8Array | string, secret: string): string {
  return sha256SignatureValue(body, secret);
}

/**
 * Headers of a signed GitHub delivery (lower-cased, as Node presents them), for tests and for the demo,
 * which posts real signed webhooks to a running server.
 */
export function githubDeliveryHeaders(
  event: string,
  body: Uint8Array | string,
  secret: string,
  deliveryId?: string,
): Record<string, string> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    [GITHUB_EVENT_HEADER.toLowerCase()]: event,
    [GITHUB_SIGNATURE_HEADER.toLowerCase()]: signGithub(body, secret),
  };
  if (deliveryId !== undefined) headers[GITHUB_DELIVERY_HEADER.toLowerCase()] = deliveryId;
  return headers;
}
