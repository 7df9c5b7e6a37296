import type { NormalizeResult } from '../../events/model.js';
import type { Forge } from '../forge.js';
import { header, type WebhookHeaders } from '../headers.js';
import { verifySha256Header } from '../hmac.js';
import { parseJsonBody } from '../json-body.js';
import { WebhookError } from '../webhook-error.js';
import { normalizeGithubPing } from './ping.js';
import { normalizeGithubPullRequest } from './pull-request.js';
import { normalizeGithubPush } from './push.js';

export const GITHUB_SIGNATURE_HEADER = 'X-Hub-Signature-256';
export const GITHUB_EVENT_HEADER = 'X-GitHub-Event';
export const GITHUB_DELIVERY_HEADER = 'X-GitHub-Delivery';

function normalize(headers: WebhookHeaders, rawBody: Uint8Array): NormalizeResult {
  const event = header(headers, GITHUB_EVENT_HEADER);
  if (event === undefined || event === '') {
    throw new WebhookError(`missing ${GITHUB_EVENT_HEADER} header: is this a GitHub webhook?`);
  }
  const payload = parseJsonBody(headers, rawBody);
  let result: NormalizeResult;
  switch (event) {
    case 'push':
      result = normalizeGithubPush(payload);
      break;
    case 'pull_request':
      result = normalizeGithubPullRequest(payload);
      break;
    case 'ping':
      return normalizeGithubPing(payload);
    // GitHub sends these beside the push of the same ref; building on both would build twice.
    case 'create':
      return { outcome: 'ignore', reason: 'tag and branch creation build from the push event' };
    case 'delete':
      return { outcome: 'ignore', reason: 'tag and branch deletion builds nothing' };
    default:
      throw new WebhookError(`unsupported GitHub event ${event}: send push and pull_request events`);
  }
  const deliveryId = githubDeliveryId(headers);
  if (result.outcome === 'build' && deliveryId !== undefined) {
    for (const e of result.events) e.deliveryId = deliveryId;
  }
  return result;
}

function githubDeliveryId(headers: WebhookHeaders): string | undefined {
  const id = header(headers, GITHUB_DELIVERY_HEADER)?.trim();
  return id === '' ? undefined : id;
}

export const githubForge: Forge = {
  name: 'github',
  signatureHeader: GITHUB_SIGNATURE_HEADER,
  eventHeader: GITHUB_EVENT_HEADER,
  verifySignature: (headers, rawBody, secret) => verifySha256Header(headers, GITHUB_SIGNATURE_HEADER, rawBody, secret),
  deliveryId: githubDeliveryId,
  normalize,
};
