import type { NormalizeResult } from '../../events/model.js';
import type { Forge, VerifyResult } from '../forge.js';
import { header, headerValues, type WebhookHeaders } from '../headers.js';
import { verifySha256Header } from '../hmac.js';
import { parseJsonBody } from '../json-body.js';
import { WebhookError } from '../webhook-error.js';
import { normalizeGithubPing } from './ping.js';
import { normalizeGithubPullRequest } from './pull-request.js';
import { normalizeGithubPush } from './push.js';

export const GITHUB_SIGNATURE_HEADER = 'X-Hub-Signature-256';
export const GITHUB_EVENT_HEADER = 'X-GitHub-Event';
export const GITHUB_DELIVERY_HEADER = 'X-GitHub-Delivery';
/** The legacy SHA-1 signature; never accepted, but named when it is the only one sent. */
const GITHUB_SHA1_HEADER = 'X-Hub-Signature';

function verifyGithubSignature(headers: WebhookHeaders, rawBody: Uint8Array, secret: string): VerifyResult {
  const result = verifySha256Header(headers, GITHUB_SIGNATURE_HEADER, rawBody, secret);
  if (!result.ok && secret.length > 0 && headerValues(headers, GITHUB_SIGNATURE_HEADER).length === 0 && headerValues(headers, GITHUB_SHA1_HEADER).length > 0) {
    return {
      ok: false,
      reason: `missing ${GITHUB_SIGNATURE_HEADER} header; only ${GITHUB_SHA1_HEADER} (SHA-1) was sent and SHA-1 signatures are not accepted: set the webhook to SHA-256 (GitHub sends ${GITHUB_SIGNATURE_HEADER} when a secret is set)`,
    };
  }
  return result;
}

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
  verifySignature: verifyGithubSignature,
  deliveryId: githubDeliveryId,
  normalize,
};
