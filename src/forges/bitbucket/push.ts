import type { BuildEvent, NormalizeResult } from '../../events/model.js';
import {
  optionalObject,
  optionalObjectArray,
  optionalString,
  requireCommitId,
  requireObject,
  requireString,
  type JsonObject,
} from '../fields.js';
import { readRepository, type BitbucketRepoRef } from './repository.js';

type ChangeOutcome = { event: BuildEvent } | { ignored: string };

/**
 * Messages of the pushed commits, oldest first. Bitbucket lists them newest first. For a NEW branch it lists the
 * head's history (up to 5, `truncated`), not what was pushed: those older commits are usually already on another
 * branch, and an old "[skip ci]" among them must not skip the new branch, so only the head commit counts there.
 */
function commitMessages(change: JsonObject, path: string, head: JsonObject, isNewRef: boolean): string[] {
  const commits = optionalObjectArray(change, 'commits', `${path}.commits`) ?? [];
  const headMessage = optionalString(head, 'message', `${path}.new.target.message`);
  if (isNewRef || commits.length === 0) return headMessage === undefined ? [] : [headMessage];
  return commits
    .map((c, i) => optionalString(c, 'message', `${path}.commits[${i}].message`) ?? '')
    .reverse();
}

function normalizeChange(change: JsonObject, path: string, where: BitbucketRepoRef): ChangeOutcome {
  const next = optionalObject(change, 'new', `${path}.new`);
  const old = optionalObject(change, 'old', `${path}.old`);
  if (next === undefined) {
    // new=null: the branch or tag no longer exists.
    const name = old && optionalString(old, 'name', `${path}.old.name`);
    const type = (old && optionalString(old, 'type', `${path}.old.type`)) ?? 'ref';
    return { ignored: `${type} ${name ?? '(unnamed)'} was deleted: nothing to build` };
  }
  const type = requireString(next, 'type', `${path}.new.type`);
  const name = requireString(next, 'name', `${path}.new.name`);
  if (type !== 'branch' && type !== 'tag') return { ignored: `push of ${type} ${name} does not build` };
  const target = requireObject(next, 'target', `${path}.new.target`);
  const isNewRef = change['created'] === true || old === undefined;

  const event: BuildEvent = {
    forge: 'bitbucket',
    kind: type === 'branch' ? 'push' : 'tag',
    account: where.account,
    repo: where.repo,
    cloneUrl: where.cloneUrl,
    commit: requireCommitId(target, 'hash', `${path}.new.target.hash`),
    commitMessages: commitMessages(change, path, target, isNewRef),
    // Bitbucket push payloads carry no file lists.
    changedFiles: null,
    sender: where.sender,
  };
  if (type === 'branch') {
    event.branch = name;
    const oldTarget = old && optionalObject(old, 'target', `${path}.old.target`);
    if (!isNewRef && oldTarget !== undefined) event.before = requireCommitId(oldTarget, 'hash', `${path}.old.target.hash`);
  } else {
    // Tag names are kept whole: "feature/x" is one tag.
    event.tag = name;
  }
  return { event };
}

/**
 * A Bitbucket Cloud `repo:push`. One delivery may carry several changes (several refs pushed at once); each
 * becomes its own build. Changes naming the same ref and commit twice (seen in real deliveries) build once.
 */
export function normalizeBitbucketPush(payload: JsonObject): NormalizeResult {
  const push = requireObject(payload, 'push', 'push');
  const changes = optionalObjectArray(push, 'changes', 'push.changes') ?? [];
  if (changes.length === 0) return { outcome: 'ignore', reason: 'push carried no changes' };
  const where = readRepository(payload);

  const events: BuildEvent[] = [];
  const ignored: string[] = [];
  const seen = new Set<string>();
  changes.forEach((change, i) => {
    const outcome = normalizeChange(change, `push.changes[${i}]`, where);
    if ('ignored' in outcome) {
      ignored.push(outcome.ignored);
      return;
    }
    const e = outcome.event;
    const key = `${e.kind}\u0000${e.branch ?? e.tag ?? ''}\u0000${e.commit}`;
    if (seen.has(key)) return;
    seen.add(key);
    events.push(e);
  });
  if (events.length === 0) return { outcome: 'ignore', reason: [...new Set(ignored)].join('; ') };
  return { outcome: 'build', events };
}
