import type { BuildEvent, NormalizeResult } from '../../events/model.js';
import {
  optionalObject,
  optionalString,
  requireCommitId,
  requireInteger,
  requireObject,
  requireString,
  type JsonObject,
} from '../fields.js';
import { readRepository } from './repository.js';

/**
 * Actions that put new code in front of the target branch. Everything else (closed, labeled, edited, assigned,
 * review requests ...) changes no code; the original built on all of them but `closed`.
 */
const BUILDING_ACTIONS = new Set(['opened', 'synchronize', 'reopened']);

/** A GitHub `pull_request`: builds the PR head commit on its SOURCE branch, keeping the target apart. */
export function normalizeGithubPullRequest(payload: JsonObject): NormalizeResult {
  const action = requireString(payload, 'action', 'action');
  if (!BUILDING_ACTIONS.has(action)) {
    return { outcome: 'ignore', reason: `pull request action ${action} does not build` };
  }
  const where = readRepository(payload);
  const pr = requireObject(payload, 'pull_request', 'pull_request');
  const head = requireObject(pr, 'head', 'pull_request.head');
  const base = requireObject(pr, 'base', 'pull_request.base');
  const baseRepo = requireObject(base, 'repo', 'pull_request.base.repo');
  const baseFullName = requireString(baseRepo, 'full_name', 'pull_request.base.repo.full_name');
  // head.repo is null when the fork was deleted after the PR was opened; GitHub still serves the commits
  // from the base repository then.
  const headRepo = optionalObject(head, 'repo', 'pull_request.head.repo');
  const headFullName = headRepo && optionalString(headRepo, 'full_name', 'pull_request.head.repo.full_name');
  // Clone from where the head commit lives, so commits that only exist in a fork are reachable.
  const cloneUrl =
    (headRepo && optionalString(headRepo, 'clone_url', 'pull_request.head.repo.clone_url')) ??
    optionalString(baseRepo, 'clone_url', 'pull_request.base.repo.clone_url') ??
    where.cloneUrl;
  const sourceBranch = requireString(head, 'ref', 'pull_request.head.ref');

  const event: BuildEvent = {
    forge: 'github',
    kind: 'pull_request',
    account: where.account,
    repo: where.repo,
    cloneUrl,
    commit: requireCommitId(head, 'sha', 'pull_request.head.sha'),
    branch: sourceBranch,
    pr: {
      number: requireInteger(pr, 'number', 'pull_request.number'),
      title: optionalString(pr, 'title', 'pull_request.title') ?? '',
      sourceBranch,
      targetBranch: requireString(base, 'ref', 'pull_request.base.ref'),
      sourceRepo: headFullName ?? baseFullName,
      // An unknown source (deleted fork) is treated as a fork: it must not get the target repo's secrets.
      fromFork: headFullName === undefined || headFullName.toLowerCase() !== baseFullName.toLowerCase(),
      action,
    },
    // The pull_request payload lists neither commits nor files.
    commitMessages: [],
    changedFiles: null,
    sender: where.sender,
  };
  return { outcome: 'build', events: [event] };
}
