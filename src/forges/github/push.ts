import type { BuildEvent, NormalizeResult } from '../../events/model.js';
import {
  optionalBoolean,
  optionalObject,
  optionalObjectArray,
  optionalString,
  optionalStringArray,
  requireCommitId,
  requireString,
  type JsonObject,
} from '../fields.js';
import { readRepository } from './repository.js';

const ZERO_COMMIT = /^0+$/;

type Ref = { kind: 'push'; branch: string } | { kind: 'tag'; tag: string } | { kind: 'other'; ref: string };

function parseRef(ref: string): Ref {
  if (ref.startsWith('refs/heads/')) return { kind: 'push', branch: ref.slice('refs/heads/'.length) };
  // Cut the whole prefix: a tag is never a branch called "tags/v1".
  if (ref.startsWith('refs/tags/')) return { kind: 'tag', tag: ref.slice('refs/tags/'.length) };
  return { kind: 'other', ref };
}

/** Messages and file lists of the pushed commits, oldest first, as far as the payload lists them. */
interface Changeset {
  commitMessages: string[];
  changedFiles: string[] | null;
}

function readCommit(commit: JsonObject, path: string): { message: string; files: string[] | undefined } {
  const message = optionalString(commit, 'message', `${path}.message`) ?? '';
  const lists = ['added', 'modified', 'removed'].map((k) => optionalStringArray(commit, k, `${path}.${k}`));
  const files = lists.every((l) => l === undefined) ? undefined : lists.flatMap((l) => l ?? []);
  return { message, files };
}

function readChangeset(payload: JsonObject): Changeset {
  const commits = (optionalObjectArray(payload, 'commits', 'commits') ?? []).map((c, i) =>
    readCommit(c, `commits[${i}]`),
  );
  // A new branch or a tag carries no commits of its own; head_commit then describes what is being built.
  const headCommit = optionalObject(payload, 'head_commit', 'head_commit');
  const listed = commits.length > 0 ? commits : headCommit ? [readCommit(headCommit, 'head_commit')] : [];
  const withFiles = listed.filter((c) => c.files !== undefined);
  return {
    // GitHub lists commits oldest first already.
    commitMessages: listed.map((c) => c.message),
    changedFiles: withFiles.length === 0 ? null : [...new Set(withFiles.flatMap((c) => c.files ?? []))],
  };
}

/**
 * A GitHub `push`: a branch update (force pushes included), a new branch or a tag. Deletions build nothing.
 * `forced` is deliberately not read: GitHub set it on branch and tag creation in 2015, and a force push builds
 * like any other push.
 */
export function normalizeGithubPush(payload: JsonObject): NormalizeResult {
  const refName = requireString(payload, 'ref', 'ref');
  const ref = parseRef(refName);
  const after = requireString(payload, 'after', 'after');
  const deleted = optionalBoolean(payload, 'deleted', 'deleted') === true || ZERO_COMMIT.test(after);
  if (ref.kind === 'other') return { outcome: 'ignore', reason: `push to ${refName} is neither a branch nor a tag` };
  if (deleted) {
    return ref.kind === 'push'
      ? { outcome: 'ignore', reason: `branch ${ref.branch} was deleted: nothing to build` }
      : { outcome: 'ignore', reason: `tag ${ref.tag} was deleted: nothing to build` };
  }

  const where = readRepository(payload);
  const headCommit = optionalObject(payload, 'head_commit', 'head_commit');
  // For an annotated tag `after` names the tag object, not a commit; head_commit.id is the commit it points at.
  const commit =
    ref.kind === 'tag' && headCommit !== undefined
      ? requireCommitId(headCommit, 'id', 'head_commit.id')
      : requireCommitId(payload, 'after', 'after');
  const before = optionalString(payload, 'before', 'before');
  const created = optionalBoolean(payload, 'created', 'created') === true;

  const event: BuildEvent = {
    forge: 'github',
    kind: ref.kind,
    account: where.account,
    repo: where.repo,
    cloneUrl: where.cloneUrl,
    commit,
    ...readChangeset(payload),
    sender: where.sender,
  };
  if (ref.kind === 'push') {
    event.branch = ref.branch;
    // A new branch has no previous head: before is all zeros.
    if (!created && before !== undefined && !ZERO_COMMIT.test(before)) {
      event.before = requireCommitId(payload, 'before', 'before');
    }
  } else {
    event.tag = ref.tag;
  }
  return { outcome: 'build', events: [event] };
}
