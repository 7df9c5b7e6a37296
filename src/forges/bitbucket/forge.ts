import type { NormalizeResult } from '../../events/model.js';
import type { Forge } from '../forge.js';
import { header, type WebhookHeaders } from '../headers.js';
import { verifySha256Header } from '../hmac.js';
import { parseJsonBody } from '../json-body.js';
import { WebhookError } from '../webhook-error.js';
import { normalizeBitbucketPullRequest } from './pull-request.js';
import { normalizeBitbucketPush } from './push.js';

export const BITBUCKET_SIGNATURE_HEADER = 'X-Hub-Signature';
export const BITBUCKET_EVENT_HEADER = 'X-Event-Key';
/** Bitbucket keeps this id across retries (X-Attempt-Number counts them); X-Hook-UUID names the hook, not the delivery. */
export const BITBUCKET_DELIVERY_HEADER = 'X-Request-UUID';

function normalize(headers: WebhookHeaders, rawBody: Uint8Array): NormalizeResult {
  const event = header(headers, BITBUCKET_EVENT_HEADER);
  if (event === undefined || event === '') {
    throw new WebhookError(`missing ${BITBUCKET_EVENT_HEADER} header: is this a Bitbucket Cloud webhook?`);
  }
  let result: NormalizeResult;
  if (event === 'repo:push') {
    result = normalizeBitbucketPush(parseJsonBody(headers, rawBody));
  } else if (event === 'pullrequest:created' || event === 'pullrequest:updated') {
    result = normalizeBitbucketPullRequest(parseJsonBody(headers, rawBody), event.slice('pullrequest:'.length));
  } else if (event.startsWith('pullrequest:')) {
    // Merged, declined, approved, commented ...: no new code to build. The original subscribed to `approved`.
    parseJsonBody(headers, rawBody);
    return { outcome: 'ignore', reason: `pull request event ${event} does not build` };
  } else if (event === 'diagnostics:ping') {
    parseJsonBody(headers, rawBody);
    return { outcome: 'ignore', reason: 'ping received' };
  } else {
    throw new WebhookError(
      `unsupported Bitbucket event ${event}: send repo:push, pullrequest:created and pullrequest:updated events`,
    );
  }
  const deliveryId = bitbucketDeliveryId(headers);
  if (result.outcome === 'build' && deliveryId !== undefined) {
    for (const e of result.events) e.deliveryId = deliveryId;
  }
  return result;
}

function bitbucketDeliveryId(headers: WebhookHeaders): string | undefined {
  const id = header(headers, BITBUCKET_DELIVERY_HEADER)?.trim();
  return id === '' ? undefined : id;
}

export const bitbucketForge: Forge = {
  name: 'bitbucket',
  signatureHeader: BITBUCKET_SIGNATURE_HEADER,
  eventHeader: BITBUCKET_EVENT_HEADER,
  verifySignature: (headers, rawBody, secret) =>
    verifySha256Header(headers, BITBUCKET_SIGNATURE_HEADER, rawBody, secret),
  deliveryId: bitbucketDeliveryId,
  normalize,
};
