import {
  optionalObject,
  optionalString,
  requireObject,
  requireString,
  type JsonObject,
} from '../fields.js';
import { WebhookError } from '../webhook-error.js';

/** Where a GitHub event happened, and who caused it: the fields every event shares. */
export interface GithubRepoRef {
  account: string;
  repo: string;
  cloneUrl: string;
  sender: string;
}

export function readRepository(payload: JsonObject): GithubRepoRef {
  const repository = requireObject(payload, 'repository', 'repository');
  const owner = requireObject(repository, 'owner', 'repository.owner');
  // Payloads from 2015 describe the push owner as {name, email} without a login.
  const account =
    optionalString(owner, 'login', 'repository.owner.login') ?? optionalString(owner, 'name', 'repository.owner.name');
  if (account === undefined) throw new WebhookError('payload is missing repository.owner.login (a non-empty string)');
  return {
    account,
    repo: requireString(repository, 'name', 'repository.name'),
    cloneUrl: requireString(repository, 'clone_url', 'repository.clone_url'),
    sender: readSender(payload),
  };
}

function readSender(payload: JsonObject): string {
  const sender = optionalObject(payload, 'sender', 'sender');
  const login = sender && optionalString(sender, 'login', 'sender.login');
  if (login !== undefined) return login;
  // Only push events carry a pusher; it is the best "who" when sender is absent.
  const pusher = optionalObject(payload, 'pusher', 'pusher');
  const name = pusher && optionalString(pusher, 'name', 'pusher.name');
  if (name !== undefined) return name;
  throw new WebhookError('payload is missing sender.login (a non-empty string)');
}
