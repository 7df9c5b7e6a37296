import { sha256SignatureValue } from '../hmac.js';
import { BITBUCKET_DELIVERY_HEADER, BITBUCKET_EVENT_HEADER, BITBUCKET_SIGNATURE_HEADER } from './forge.js';

/** The `X-Hub-Signature` value Bitbucket Cloud would send for `body` signed with `secret`. */
export function signBitbucket(body: Uint8Array | string, secret: string): string {
  return sha256SignatureValue(body, secret);
}

/** Headers of a signed Bitbucket Cloud delivery (lower-cased, as Node presents them), for tests and the demo. */
export function bitbucketDeliveryHeaders(
  eventKey: string,
  body: Uint8Array | string,
  secret: string,
  requestUuid?: string,
): Record<string, string> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    [BITBUCKET_EVENT_HEADER.toLowerCase()]: eventKey,
    [BITBUCKET_SIGNATURE_HEADER.toLowerCase()]: signBitbucket(body, secret),
  };
  if (requestUuid !== undefined) headers[BITBUCKET_DELIVERY_HEADER.toLowerCase()] = requestUuid;
  return headers;
}
