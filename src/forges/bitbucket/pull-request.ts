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
import { cloneUrlOf, readRepository } from './repository.js';

/**
 * A Bitbucket Cloud `pullrequest:created` / `pullrequest:updated`: builds the source commit on the SOURCE
 * branch. The payload carries only a 12-char abbreviated hash; it is kept as is and the werker resolves it.
 */
export function normalizeBitbucketPullRequest(payload: JsonObject, action: string): NormalizeResult {
  const where = readRepository(payload);
  const pr = requireObject(payload, 'pullrequest', 'pullrequest');
  const source = requireObject(pr, 'source', 'pullrequest.source');
  const destination = requireObject(pr, 'destination', 'pullrequest.destination');
  const sourceBranch = requireString(
    requireObject(source, 'branch', 'pullrequest.source.branch'),
    'name',
    'pullrequest.source.branch.name',
  );
  const targetBranch = requireString(
    requireObject(destination, 'branch', 'pullrequest.destination.branch'),
    'name',
    'pullrequest.destination.branch.name',
  );
  const commit = requireCommitId(
    requireObject(source, 'commit', 'pullrequest.source.commit'),
    'hash',
    'pullrequest.source.commit.hash',
  );
  // The source repository is null when a fork was deleted; the destination is always there.
  const sourceRepo = optionalObject(source, 'repository', 'pullrequest.source.repository');
  const destRepo = optionalObject(destination, 'repository', 'pullrequest.destination.repository');
  const sourceFullName = sourceRepo && optionalString(sourceRepo, 'full_name', 'pullrequest.source.repository.full_name');
  const destFullName =
    (destRepo && optionalString(destRepo, 'full_name', 'pullrequest.destination.repository.full_name')) ??
    where.fullName;
  // Clone from where the source commit lives, so commits that only exist in a fork are reachable.
  const cloneUrl = sourceRepo && sourceFullName !== undefined ? cloneUrlOf(sourceRepo, 'pullrequest.source.repository') : where.cloneUrl;

  const event: BuildEvent = {
    forge: 'bitbucket',
    kind: 'pull_request',
    account: where.account,
    repo: where.repo,
    cloneUrl,
    commit,
    branch: sourceBranch,
    pr: {
      number: requireInteger(pr, 'id', 'pullrequest.id'),
      title: optionalString(pr, 'title', 'pullrequest.title') ?? '',
      sourceBranch,
      targetBranch,
      sourceRepo: sourceFullName ?? destFullName,
      // An unknown source (deleted fork) is treated as a fork: it must not get the target repo's secrets.
      fromFork: sourceFullName === undefined || sourceFullName.toLowerCase() !== destFullName.toLowerCase(),
      action,
    },
    // Pull request payloads list neither commits nor files.
    commitMessages: [],
    changedFiles: null,
    sender: where.sender,
  };
  return { outcome: 'build', events: [event] };
}
