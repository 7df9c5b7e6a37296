import { requireObject, requireString, type JsonObject } from '../fields.js';
import { WebhookError } from '../webhook-error.js';

/** Where a Bitbucket Cloud event happened, and who caused it: the fields every event shares. */
export interface BitbucketRepoRef {
  account: string;
  repo: string;
  fullName: string;
  cloneUrl: string;
  sender: string;
}

/** `workspace/slug` split in two; Bitbucket repository full names always have exactly one slash. */
export function splitFullName(fullName: string, path: string): { account: string; repo: string } {
  const slash = fullName.indexOf('/');
  if (slash <= 0 || slash === fullName.length - 1) {
    throw new WebhookError(`payload field ${path} must look like "workspace/repository"`);
  }
  return { account: fullName.slice(0, slash), repo: fullName.slice(slash + 1) };
}

/**
 * The https clone URL of a repository object. Bitbucket payloads carry no clone link, but the web page URL plus
 * `.git` is the clone URL for Bitbucket Cloud.
 */
export function cloneUrlOf(repository: JsonObject, path: string): string {
  const links = requireObject(repository, 'links', `${path}.links`);
  const html = requireObject(links, 'html', `${path}.links.html`);
  const href = requireString(html, 'href', `${path}.links.html.href`).replace(/\/+$/, '');
  return href.endsWith('.git') ? href : `${href}.git`;
}

export function readRepository(payload: JsonObject): BitbucketRepoRef {
  const repository = requireObject(payload, 'repository', 'repository');
  const fullName = requireString(repository, 'full_name', 'repository.full_name');
  return {
    ...splitFullName(fullName, 'repository.full_name'),
    fullName,
    cloneUrl: cloneUrlOf(repository, 'repository'),
    sender: readActor(payload),
  };
}

/**
 * Who caused the event. Only shown (who triggered a build), never checked, so it never rejects a delivery: a push
 * that only deletes a branch builds nothing and must be answered 200 whatever its actor looks like.
 */
function readActor(payload: JsonObject): string {
  const actor = payload['actor'];
  if (actor === null || typeof actor !== 'object' || Array.isArray(actor)) return 'unknown';
  // `username` disappeared from Bitbucket's API in 2019 (GDPR); `nickname` replaced it; display_name is last.
  for (const key of ['nickname', 'username', 'display_name']) {
    const who = (actor as JsonObject)[key];
    if (typeof who === 'string' && who.trim() !== '') return who;
  }
  return 'unknown';
}
