/** Shapes the fixtures do not cover, built by hand from the documented payload format. */
import { describe, expect, it } from 'vitest';
import type { BuildEvent, NormalizeResult } from '../../events/model.js';
import { githubForge } from './forge.js';

const repository = { name: 'r', owner: { login: 'acct' }, clone_url: 'https://ghe.example.com/acct/r.git' };
const basePush = {
  ref: 'refs/heads/main',
  before: '1'.repeat(40),
  after: '2'.repeat(40),
  created: false,
  deleted: false,
  repository,
  sender: { login: 'alice' },
};

function run(event: string, payload: unknown, headers: Record<string, string> = {}): NormalizeResult {
  return githubForge.normalize({ 'x-github-event': event, ...headers }, Buffer.from(JSON.stringify(payload)));
}

function only(result: NormalizeResult): BuildEvent {
  if (result.outcome !== 'build') throw new Error(`expected a build, got: ${result.reason}`);
  expect(result.events).toHaveLength(1);
  return result.events[0]!;
}

describe('GitHub push', () => {
  it('unions added, modified and removed files over all commits, once each, and keeps messages oldest first', () => {
    const e = only(
      run('push', {
        ...basePush,
        commits: [
          { message: 'first', added: ['a'], modified: ['b'], removed: [] },
          { message: 'second [skip ci]', added: [], modified: ['b', 'c'], removed: ['d'] },
        ],
      }),
    );
    expect(e.commitMessages).toEqual(['first', 'second [skip ci]']);
    expect(e.changedFiles).toEqual(['a', 'b', 'c', 'd']);
    expect(e.before).toBe('1'.repeat(40));
  });

  it('says "no file list" (null) when the commits carry none', () => {
    const e = only(run('push', { ...basePush, commits: [{ message: 'x' }] }));
    expect(e.changedFiles).toBeNull();
    expect(e.commitMessages).toEqual(['x']);
  });

  it('has no previous head when before is all zeros even without created=true', () => {
    const e = only(run('push', { ...basePush, before: '0'.repeat(40), commits: [] }));
    expect(e.before).toBeUndefined();
    expect(e.commitMessages).toEqual([]);
    expect(e.changedFiles).toBeNull();
  });

  it('keeps slashes in branch and tag names', () => {
    expect(only(run('push', { ...basePush, ref: 'refs/heads/feature/x/y' })).branch).toBe('feature/x/y');
    const tag = only(run('push', { ...basePush, ref: 'refs/tags/release/1.0', created: true }));
    expect(tag).toMatchObject({ kind: 'tag', tag: 'release/1.0' });
    expect(tag.branch).toBeUndefined();
    expect(tag.before).toBeUndefined();
  });

  it('ignores refs that are neither branches nor tags', () => {
    expect(run('push', { ...basePush, ref: 'refs/notes/commits' })).toEqual({
      outcome: 'ignore',
      reason: 'push to refs/notes/commits is neither a branch nor a tag',
    });
  });

  it('treats after=0000… as a deletion even if deleted is missing', () => {
    const { deleted: _d, ...rest } = basePush;
    expect(run('push', { ...rest, after: '0'.repeat(40) })).toEqual({
      outcome: 'ignore',
      reason: 'branch main was deleted: nothing to build',
    });
  });

  it('records the delivery id on the event', () => {
    const e = only(run('push', basePush, { 'x-github-delivery': 'abc-123' }));
    expect(e.deliveryId).toBe('abc-123');
    expect(githubForge.deliveryId({ 'x-github-delivery': 'abc-123' })).toBe('abc-123');
    expect(githubForge.deliveryId({})).toBeUndefined();
  });

  it('takes the clone URL from the payload, so GitHub Enterprise works', () => {
    expect(only(run('push', basePush)).cloneUrl).toBe('https://ghe.example.com/acct/r.git');
  });
});

describe('GitHub pull_request', () => {
  const pr = (head: unknown) => ({
    action: 'opened',
    number: 9,
    repository,
    sender: { login: 'bob' },
    pull_request: {
      number: 9,
      title: 'Fix it',
      head,
      base: { ref: 'main', sha: '3'.repeat(40), repo: { full_name: 'acct/r', clone_url: 'https://ghe.example.com/acct/r.git' } },
    },
  });

  it('clones a fork PR from the fork and marks it', () => {
    const e = only(
      run(
        'pull_request',
        pr({ ref: 'fix', sha: '4'.repeat(40), repo: { full_name: 'bob/r', clone_url: 'https://ghe.example.com/bob/r.git' } }),
      ),
    );
    expect(e.cloneUrl).toBe('https://ghe.example.com/bob/r.git');
    expect(e.pr).toMatchObject({ fromFork: true, sourceRepo: 'bob/r', sourceBranch: 'fix', targetBranch: 'main' });
    expect(e.branch).toBe('fix');
    expect(e.account).toBe('acct');
  });

  it('falls back to the base repository when the fork was deleted, and still treats it as a fork', () => {
    const e = only(run('pull_request', pr({ ref: 'fix', sha: '4'.repeat(40), repo: null })));
    expect(e.cloneUrl).toBe('https://ghe.example.com/acct/r.git');
    expect(e.pr).toMatchObject({ fromFork: true, sourceRepo: 'acct/r' });
  });

  it('does not build on edited, labeled, assigned or ready_for_review', () => {
    for (const action of ['edited', 'labeled', 'assigned', 'ready_for_review']) {
      expect(run('pull_request', { ...pr({}), action })).toEqual({
        outcome: 'ignore',
        reason: `pull request action ${action} does not build`,
      });
    }
  });
});
