/**
 * Every real Bitbucket Cloud payload in the shared fixtures, with the outcome a user would expect from it. The
 * list must cover the manifest exactly: a new fixture without an expectation fails here.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { BuildEvent } from '../../events/model.js';
import { findSkipCi } from '../../events/skip-ci.js';
import { bitbucketForge } from './forge.js';
import { signBitbucket } from './sign.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const fixturesDir = join(
  process.env['OCELOT_FIXTURES_DIR'] ?? resolve(repoRoot, '../shared/fixtures'),
  'webhooks/bitbucket-cloud',
);

interface ManifestEntry {
  file: string;
  headers: Record<string, string>;
  exercises: string;
}
const manifest = JSON.parse(readFileSync(join(fixturesDir, 'manifest.json'), 'utf8')) as ManifestEntry[];

interface Seen {
  kind: BuildEvent['kind'];
  branch?: string;
  tag?: string;
  commit: string;
  before?: string;
  /** Every message, oldest first. */
  messages: string[];
  changedFiles: string[] | null;
  sender: string;
  account: string;
  repo: string;
  cloneUrl: string;
  pr?: BuildEvent['pr'];
}

type Expectation = { ignore: string | RegExp } | { build: Seen[] };

const mytestocy = {
  sender: 'user7',
  account: 'user7',
  repo: 'mytestocy',
  cloneUrl: 'https://bitbucket.org/user7/mytestocy.git',
  changedFiles: null,
};
const foo = { sender: 'user8', account: 'user8', repo: 'foo', cloneUrl: 'https://bitbucket.org/user8/foo.git', changedFiles: null };

const expected: Record<string, Expectation> = {
  'repo-push.one-commit.json': {
    build: [
      {
        kind: 'push',
        branch: 'here_we_go',
        commit: '7e4a3761b5a5945367d62fb7f4acd374a0c18dd7',
        before: 'af390573a34cf50896226cf05ea7cc8ceeb50351',
        messages: ['just going to do one commit this time\n'],
        ...mytestocy,
      },
    ],
  },
  // Bitbucket lists newest first; the event has them oldest first.
  'repo-push.two-commits.json': {
    build: [
      {
        kind: 'push',
        branch: 'here_we_go',
        commit: '4f59e57d8878daabcbc6af6bd374929b9fe03568',
        before: '906a8969084b9ab0d8ce1056d3e046629eb2d6f9',
        messages: ['another one!\n', 'adding test data\n'],
        ...mytestocy,
      },
    ],
  },
  // Both changes name the same branch and commit: one build, not two.
  'repo-push.two-changes.json': {
    build: [
      {
        kind: 'push',
        branch: 'here_we_go',
        commit: '4f59e57d8878daabcbc6af6bd374929b9fe03568',
        before: '906a8969084b9ab0d8ce1056d3e046629eb2d6f9',
        messages: ['another one!\n', 'adding test data\n'],
        ...mytestocy,
      },
    ],
  },
  // A new branch lists the head's history, including an old "[skip ci]" commit already on master: only the head
  // commit's message counts, so the new branch builds.
  'repo-push.new-branch.truncated.json': {
    build: [
      {
        kind: 'push',
        branch: 'newbranch',
        commit: 'dc128f78cd34f2487d4b77ce504533c682d24b93',
        messages: ['updating docker too ooooeee\n'],
        ...mytestocy,
      },
    ],
  },
  'repo-push.new-branch.one-commit.json': {
    build: [
      {
        kind: 'push',
        branch: 'new_branch',
        commit: 'c0984feed15b30e024016f47850402887c011a9e',
        messages: ['add new file\n'],
        ...mytestocy,
      },
    ],
  },
  'pullrequest-created.json': {
    build: [
      {
        kind: 'pull_request',
        branch: 'newbranch',
        commit: 'dc128f78cd34',
        messages: [],
        ...mytestocy,
        pr: {
          number: 1,
          title: 'Newbranch',
          sourceBranch: 'newbranch',
          targetBranch: 'master',
          sourceRepo: 'user7/mytestocy',
          fromFork: false,
          action: 'created',
        },
      },
    ],
  },
  // Only a 12-char hash in the payload: kept, the werker resolves it against the branch.
  'pullrequest-updated.json': {
    build: [
      {
        kind: 'pull_request',
        branch: 'newbranch',
        commit: '351a129096b0',
        messages: [],
        ...mytestocy,
        pr: {
          number: 1,
          title: 'Newbranch',
          sourceBranch: 'newbranch',
          targetBranch: 'master',
          sourceRepo: 'user7/mytestocy',
          fromFork: false,
          action: 'updated',
        },
      },
    ],
  },
  'repo-push.after-pr-update.json': {
    build: [
      {
        kind: 'push',
        branch: 'newbranch',
        commit: '351a129096b0f9a8a40d46a7fd6061c050b0d9f4',
        before: 'dc128f78cd34f2487d4b77ce504533c682d24b93',
        messages: ['updating branch after pr is created\n'],
        ...mytestocy,
      },
    ],
  },
  'repo-push.tag.json': {
    build: [
      {
        kind: 'tag',
        tag: 'test_taggy',
        commit: 'c0984feed15b30e024016f47850402887c011a9e',
        messages: ['add new file\n'],
        ...mytestocy,
      },
    ],
  },
  'repo-push.tag-with-slash.json': {
    build: [
      {
        kind: 'tag',
        tag: 'feature/x',
        commit: '141977fedf5cf35aa290ac87d4b5177ac4cd9de1',
        messages: ['Update README\n'],
        ...foo,
      },
    ],
  },
  'repo-push.branch-deleted.json': { ignore: 'branch develop was deleted: nothing to build' },
  'pullrequest-fulfilled.json': { ignore: 'pull request event pullrequest:fulfilled does not build' },
};

function lowerCased(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}

function seen(e: BuildEvent): Seen {
  return {
    kind: e.kind,
    branch: e.branch,
    tag: e.tag,
    commit: e.commit,
    before: e.before,
    messages: e.commitMessages,
    changedFiles: e.changedFiles,
    sender: e.sender,
    account: e.account,
    repo: e.repo,
    cloneUrl: e.cloneUrl,
    pr: e.pr,
  };
}

describe('Bitbucket Cloud fixtures', () => {
  it('has an expectation for every file in the manifest, and no other', () => {
    expect(Object.keys(expected).sort()).toEqual(manifest.map((m) => m.file).sort());
  });

  for (const entry of manifest) {
    const expectation = expected[entry.file];
    it(`${entry.file}: ${entry.exercises.slice(0, 80)}`, () => {
      expect(expectation, `no expectation for ${entry.file}`).toBeDefined();
      if (expectation === undefined) return;
      const body = readFileSync(join(fixturesDir, entry.file));
      const headers = {
        ...lowerCased(entry.headers),
        'x-hub-signature': signBitbucket(body, 'fixture-secret'),
        'x-request-uuid': `{req-${entry.file}}`,
      };
      expect(bitbucketForge.verifySignature(headers, body, 'fixture-secret')).toEqual({ ok: true });

      const result = bitbucketForge.normalize(headers, body);
      if ('ignore' in expectation) {
        expect(result.outcome).toBe('ignore');
        if (result.outcome === 'ignore') expect(result.reason).toMatch(expectation.ignore);
        return;
      }
      expect(result.outcome).toBe('build');
      if (result.outcome !== 'build') return;
      expect(result.events.map(seen)).toEqual(expectation.build);
      for (const event of result.events) {
        expect(event.forge).toBe('bitbucket');
        expect(event.deliveryId).toBe(`{req-${entry.file}}`);
      }
    });
  }

  it('does not let an old "[skip ci]" in a new branch\'s listed history skip the build', () => {
    const body = readFileSync(join(fixturesDir, 'repo-push.new-branch.truncated.json'));
    expect(body.toString('utf8')).toContain('[skip ci]');
    const result = bitbucketForge.normalize({ 'x-event-key': 'repo:push' }, body);
    expect(result.outcome).toBe('build');
    if (result.outcome === 'build') expect(findSkipCi(result.events[0]!.commitMessages)).toBeNull();
  });
});
