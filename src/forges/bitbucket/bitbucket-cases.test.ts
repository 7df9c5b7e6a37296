/** Shapes the fixtures do not cover, built by hand from Bitbucket Cloud's documented payload format. */
import { describe, expect, it } from 'vitest';
import type { NormalizeResult } from '../../events/model.js';
import { bitbucketForge } from './forge.js';

const repository = { full_name: 'ws/app', links: { html: { href: 'https://bitbucket.org/ws/app' } } };
const actor = { nickname: 'nick', username: 'old-name', display_name: 'Nick N' };
const sha = (c: string) => c.repeat(40);

function branchChange(name: string, to: string, from: string | null, messages: string[] = []) {
  return {
    created: from === null,
    closed: false,
    truncated: false,
    new: { type: 'branch', name, target: { hash: to, message: messages[0] ?? 'head' } },
    old: from === null ? null : { type: 'branch', name, target: { hash: from } },
    commits: messages.map((message, i) => ({ hash: String(i).repeat(40), message })),
  };
}

function run(event: string, payload: unknown, headers: Record<string, string> = {}): NormalizeResult {
  return bitbucketForge.normalize({ 'x-event-key': event, ...headers }, Buffer.from(JSON.stringify(payload)));
}

describe('Bitbucket repo:push', () => {
  it('builds each pushed ref and skips deletions within the same delivery', () => {
    const result = run('repo:push', {
      actor,
      repository,
      push: {
        changes: [
          branchChange('main', sha('a'), sha('b'), ['newest', 'oldest']),
          { created: false, closed: true, new: null, old: { type: 'branch', name: 'gone', target: { hash: sha('c') } } },
          branchChange('dev', sha('d'), null),
        ],
      },
    });
    expect(result.outcome).toBe('build');
    if (result.outcome !== 'build') return;
    expect(result.events.map((e) => [e.branch, e.commit, e.before])).toEqual([
      ['main', sha('a'), sha('b')],
      ['dev', sha('d'), undefined],
    ]);
    expect(result.events[0]!.commitMessages).toEqual(['oldest', 'newest']);
    expect(result.events[1]!.commitMessages).toEqual(['head']);
  });

  it('ignores a delivery whose every change is a deletion, naming them', () => {
    const result = run('repo:push', {
      actor,
      repository,
      push: {
        changes: [
          { new: null, old: { type: 'branch', name: 'a', target: { hash: sha('1') } } },
          { new: null, old: { type: 'tag', name: 'v1', target: { hash: sha('2') } } },
        ],
      },
    });
    expect(result).toEqual({
      outcome: 'ignore',
      reason: 'branch a was deleted: nothing to build; tag v1 was deleted: nothing to build',
    });
  });

  it('ignores a push with no changes', () => {
    expect(run('repo:push', { actor, repository, push: { changes: [] } }).outcome).toBe('ignore');
  });

  it('keeps the listed commits of a truncated update (they are all new)', () => {
    const change = { ...branchChange('main', sha('a'), sha('b'), ['5', '4', '3', '2', '1']), truncated: true };
    const result = run('repo:push', { actor, repository, push: { changes: [change] } });
    expect(result.outcome === 'build' && result.events[0]!.commitMessages).toEqual(['1', '2', '3', '4', '5']);
  });

  it('prefers actor.nickname, then username, then display_name', () => {
    const push = { changes: [branchChange('main', sha('a'), sha('b'))] };
    const sender = (a: unknown) => {
      const r = run('repo:push', { actor: a, repository, push });
      return r.outcome === 'build' ? r.events[0]!.sender : undefined;
    };
    expect(sender(actor)).toBe('nick');
    expect(sender({ username: 'old-name', display_name: 'Nick N' })).toBe('old-name');
    expect(sender({ display_name: 'Nick N' })).toBe('Nick N');
    expect(sender({ nickname: '', display_name: 'Nick N' })).toBe('Nick N');
    expect(sender({ uuid: '{1}' })).toBe('unknown');
    expect(sender(undefined)).toBe('unknown');
  });

  it('ignores a deletion-only push even when the actor has no nickname, or there is no actor', () => {
    const push = { changes: [{ new: null, old: { type: 'branch', name: 'gone', target: { hash: sha('1') } } }] };
    for (const a of [{ display_name: 'Nick N' }, { uuid: '{1}' }, undefined]) {
      expect(run('repo:push', { actor: a, repository, push })).toEqual({ outcome: 'ignore', reason: 'branch gone was deleted: nothing to build' });
    }
  });

  it('uses X-Request-UUID as the delivery id', () => {
    const push = { changes: [branchChange('main', sha('a'), sha('b'))] };
    const headers = { 'x-request-uuid': 'req-1', 'x-hook-uuid': 'hook-1' };
    const result = run('repo:push', { actor, repository, push }, headers);
    expect(result.outcome === 'build' && result.events[0]!.deliveryId).toBe('req-1');
    expect(bitbucketForge.deliveryId(headers)).toBe('req-1');
  });
});

describe('Bitbucket pull requests', () => {
  const pr = (sourceRepo: unknown) => ({
    actor,
    repository,
    pullrequest: {
      id: 4,
      title: 'Feature',
      source: { branch: { name: 'feat' }, commit: { hash: 'abcdef123456' }, repository: sourceRepo },
      destination: { branch: { name: 'main' }, commit: { hash: '123456abcdef' }, repository },
    },
  });

  it('marks a fork PR and clones from the fork', () => {
    const fork = { full_name: 'someone/app', links: { html: { href: 'https://bitbucket.org/someone/app' } } };
    const result = run('pullrequest:updated', pr(fork));
    expect(result.outcome).toBe('build');
    if (result.outcome !== 'build') return;
    const e = result.events[0]!;
    expect(e.cloneUrl).toBe('https://bitbucket.org/someone/app.git');
    expect(e.account).toBe('ws');
    expect(e.commit).toBe('abcdef123456');
    expect(e.pr).toEqual({
      number: 4,
      title: 'Feature',
      sourceBranch: 'feat',
      targetBranch: 'main',
      sourceRepo: 'someone/app',
      fromFork: true,
      action: 'updated',
    });
  });

  it('treats a PR whose source repository is gone as a fork, cloning the destination', () => {
    const result = run('pullrequest:created', pr(null));
    expect(result.outcome === 'build' && result.events[0]!.pr).toMatchObject({ fromFork: true, sourceRepo: 'ws/app' });
    expect(result.outcome === 'build' && result.events[0]!.cloneUrl).toBe('https://bitbucket.org/ws/app.git');
  });
});
