/**
 * Every real GitHub payload in the shared fixtures, with the outcome a user would expect from it. The list must
 * cover the manifest exactly: a new fixture without an expectation fails here instead of going untested.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { BuildEvent } from '../../events/model.js';
import { githubForge } from './forge.js';
import { signGithub } from './sign.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const fixturesDir = join(process.env['OCELOT_FIXTURES_DIR'] ?? resolve(repoRoot, '../shared/fixtures'), 'webhooks/github');

interface ManifestEntry {
  file: string;
  headers: Record<string, string>;
  exercises: string;
}
const manifest = JSON.parse(readFileSync(join(fixturesDir, 'manifest.json'), 'utf8')) as ManifestEntry[];

/** The fields a user looks at; `messages` is the count, `firstMessage` a prefix of the oldest one. */
interface Seen {
  kind: BuildEvent['kind'];
  branch?: string;
  tag?: string;
  commit: string;
  before?: string;
  messages: number;
  firstMessage?: string;
  changedFiles: string[] | null;
  sender: string;
  account: string;
  repo: string;
  cloneUrl: string;
  pr?: BuildEvent['pr'];
}

type Expectation = { ignore: string | RegExp } | { build: Seen };

const testOcelot = {
  sender: 'user1',
  account: 'user1',
  repo: 'test-ocelot',
  cloneUrl: 'https://github.com/user1/test-ocelot.git',
};
const legacy = { sender: 'user2', account: 'user2', repo: 'test', cloneUrl: 'https://github.com/user2/test.git' };
const droneTest = {
  sender: 'user4',
  account: 'user4',
  repo: 'drone-test-go',
  cloneUrl: 'https://github.com/user4/drone-test-go.git',
};

const expected: Record<string, Expectation> = {
  'push.branch.one-commit.json': {
    build: {
      kind: 'push',
      branch: 'thisbetestboyyyy',
      commit: 'e23fc2e3540bfabfffe0487fa24557e58ace1749',
      before: '79062bb7109556f0820068a9dd9b9886564a2e8b',
      messages: 1,
      firstMessage: 'newfile update',
      changedFiles: ['newfile'],
      ...testOcelot,
    },
  },
  // A new branch with no commits of its own: no previous head, head_commit stands for the change.
  'push.branch.new.no-commits.json': {
    build: {
      kind: 'push',
      branch: 'thisbetestboyyyy_ANOTHERONE',
      commit: 'e23fc2e3540bfabfffe0487fa24557e58ace1749',
      messages: 1,
      changedFiles: ['newfile'],
      ...testOcelot,
    },
  },
  'push.branch.new.with-commits.json': {
    build: {
      kind: 'push',
      branch: 'thisbetestboyyyy_dj_KHALED',
      commit: '3d551291d03b27d52b2f42eaf8e7ccc8d7ca4a06',
      messages: 2,
      firstMessage: 'adding to .hi',
      changedFiles: ['.hi', 'newfile'],
      ...testOcelot,
    },
  },
  'push.branch.after-pr-open.json': {
    build: {
      kind: 'push',
      branch: 'thisbetestboyyyy_dj_KHALED',
      commit: '1defca0566af9fb8c6f9a50e6fdc61820e6b1f13',
      before: '3d551291d03b27d52b2f42eaf8e7ccc8d7ca4a06',
      messages: 1,
      firstMessage: 'another line after a pr create',
      changedFiles: ['newfile'],
      ...testOcelot,
    },
  },
  // Nine commits in one push: one build of the head, every message kept (oldest first) for [skip ci] and \text.
  'push.many-commits.json': {
    build: {
      kind: 'push',
      branch: 'test-5',
      commit: '3c6cd430827e911f46ec5847a5a188bd54b68b13',
      before: '20cf6afbfb6cf55917a1b62d449357a0c8789b7e',
      messages: 9,
      firstMessage: '2',
      changedFiles: ['ihr.txt'],
      ...legacy,
    },
  },
  // Force pushes build like any push.
  'push.force.json': {
    build: {
      kind: 'push',
      branch: 'main',
      commit: 'f7220f1f753260bf6f1c533357c70213e9fd4abe',
      before: '5ea737297f2e2e88f4cdf796e72cbcb12d40fd9c',
      messages: 1,
      firstMessage: 'feat: initial implementation',
      changedFiles: [
        '.clippy.toml',
        '.gitignore',
        '.woodpecker/build.yml',
        '.woodpecker/lint.yml',
        'Cargo.lock',
        'Cargo.toml',
        'LICENSE',
        'README.md',
        'contrib/example.toml',
        'rustfmt.toml',
        'src/cli.rs',
        'src/config.rs',
        'src/main.rs',
        'src/proxy/mod.rs',
        'src/proxy/tcp.rs',
        'src/proxy/udp.rs',
        'src/socket_opts.rs',
      ],
      sender: 'user3',
      account: 'user3',
      repo: 'oxiduct',
      cloneUrl: 'https://github.com/user3/oxiduct.git',
    },
  },
  // 2015 shape: owner has only {name, email}, timestamps are integers.
  'push.force.legacy-2015.json': {
    build: {
      kind: 'push',
      branch: 'test-3',
      commit: 'eb61474c9b33af5ae6088e50a5a99a1b50cd2453',
      before: '3fec97a05dd0bf63971423984a9a9e87349d1351',
      messages: 1,
      firstMessage: 'foo',
      changedFiles: ['ihr.txt'],
      ...legacy,
    },
  },
  // forced=true on a creation (2015) must not matter: still a new branch without a previous head.
  'push.branch.new.unicode-message.json': {
    build: {
      kind: 'push',
      branch: 'test-4',
      commit: '984aa2d40fb3b133a82948fa839be382c5f32ddb',
      messages: 1,
      firstMessage: '日本語で長いコミットメッセージ',
      changedFiles: ['ihr.txt'],
      ...legacy,
    },
  },
  'push.tag.json': {
    build: {
      kind: 'tag',
      tag: 'v0.1.1',
      commit: 'e23fc2e3540bfabfffe0487fa24557e58ace1749',
      messages: 1,
      changedFiles: ['newfile'],
      ...testOcelot,
    },
  },
  // Annotated tag: `after` is the tag object 73eab2d…, the commit to build is head_commit 3c6cd43….
  'push.tag.legacy-forced-flag.json': {
    build: {
      kind: 'tag',
      tag: 'v1.1',
      commit: '3c6cd430827e911f46ec5847a5a188bd54b68b13',
      messages: 1,
      changedFiles: ['ihr.txt'],
      ...legacy,
    },
  },
  'push.tag.deleted.json': { ignore: 'tag v0.0.1 was deleted: nothing to build' },
  'push.branch.deleted.json': { ignore: 'branch feature-branch was deleted: nothing to build' },
  'create.tag.json': { ignore: 'tag and branch creation build from the push event' },
  'delete.branch.json': { ignore: 'tag and branch deletion builds nothing' },
  'pull_request.opened.json': {
    build: {
      kind: 'pull_request',
      branch: 'thisbetestboyyyy_dj_KHALED',
      commit: '3d551291d03b27d52b2f42eaf8e7ccc8d7ca4a06',
      messages: 0,
      changedFiles: null,
      ...testOcelot,
      pr: {
        number: 2,
        title: 'Thisbetestboyyyy dj khaled',
        sourceBranch: 'thisbetestboyyyy_dj_KHALED',
        targetBranch: 'master',
        sourceRepo: 'user1/test-ocelot',
        fromFork: false,
        action: 'opened',
      },
    },
  },
  'pull_request.synchronize.json': {
    build: {
      kind: 'pull_request',
      branch: 'thisbetestboyyyy_dj_KHALED',
      commit: '1defca0566af9fb8c6f9a50e6fdc61820e6b1f13',
      messages: 0,
      changedFiles: null,
      ...testOcelot,
      pr: {
        number: 2,
        title: 'Thisbetestboyyyy dj khaled',
        sourceBranch: 'thisbetestboyyyy_dj_KHALED',
        targetBranch: 'master',
        sourceRepo: 'user1/test-ocelot',
        fromFork: false,
        action: 'synchronize',
      },
    },
  },
  'pull_request.closed.merged.json': { ignore: 'pull request action closed does not build' },
  'pull_request.closed.unmerged.json': { ignore: 'pull request action closed does not build' },
  // Source "master" into target "user4-patch-1": the two are kept apart, not guessed.
  'pull_request.reopened.json': {
    build: {
      kind: 'pull_request',
      branch: 'master',
      commit: 'd2b75aa7797ec26b088fa2dd527e9d2c052fcedd',
      messages: 0,
      changedFiles: null,
      ...droneTest,
      pr: {
        number: 1,
        title: 'Update .drone.yml',
        sourceBranch: 'master',
        targetBranch: 'user4-patch-1',
        sourceRepo: 'user4/drone-test-go',
        fromFork: false,
        action: 'reopened',
      },
    },
  },
  'pull_request.opened.from-fork.json': {
    build: {
      kind: 'pull_request',
      branch: 'changes',
      commit: '34c5c7793cb3b279e22454cb6750c80560547b3a',
      messages: 0,
      changedFiles: null,
      sender: 'Codertocat',
      account: 'Codertocat',
      repo: 'Hello-World',
      // The fixture was hand-edited: only full_name/fork say "fork"; its head clone_url is the base's.
      cloneUrl: 'https://github.com/Codertocat/Hello-World.git',
      pr: {
        number: 1,
        title: 'Update the README with new information',
        sourceBranch: 'changes',
        targetBranch: 'main',
        sourceRepo: 'Codertocat/Hello-World-Fork',
        fromFork: true,
        action: 'opened',
      },
    },
  },
  'ping.json': { ignore: 'ping received (hook id 109948940)' },
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
    messages: e.commitMessages.length,
    firstMessage: e.commitMessages[0],
    changedFiles: e.changedFiles,
    sender: e.sender,
    account: e.account,
    repo: e.repo,
    cloneUrl: e.cloneUrl,
    pr: e.pr,
  };
}

describe('GitHub fixtures', () => {
  it('has an expectation for every file in the manifest, and no other', () => {
    expect(Object.keys(expected).sort()).toEqual(manifest.map((m) => m.file).sort());
  });

  for (const entry of manifest) {
    const expectation = expected[entry.file];
    it(`${entry.file}: ${entry.exercises.slice(0, 80)}`, () => {
      expect(expectation, `no expectation for ${entry.file}`).toBeDefined();
      if (expectation === undefined) return;
      const body = readFileSync(join(fixturesDir, entry.file));
      const headers = { ...lowerCased(entry.headers), 'x-hub-signature-256': signGithub(body, 'fixture-secret') };
      expect(githubForge.verifySignature(headers, body, 'fixture-secret')).toEqual({ ok: true });

      const result = githubForge.normalize(headers, body);
      if ('ignore' in expectation) {
        expect(result.outcome).toBe('ignore');
        if (result.outcome === 'ignore') expect(result.reason).toMatch(expectation.ignore);
        return;
      }
      expect(result.outcome).toBe('build');
      if (result.outcome !== 'build') return;
      expect(result.events).toHaveLength(1);
      const event = result.events[0]!;
      expect(event.forge).toBe('github');
      const { firstMessage, ...rest } = expectation.build;
      const { firstMessage: actualFirst, ...actualRest } = seen(event);
      expect(actualRest).toEqual(rest);
      if (firstMessage !== undefined) expect(actualFirst?.startsWith(firstMessage)).toBe(true);
      // Never a branch named after a tag, never both.
      expect(event.branch === undefined || event.tag === undefined).toBe(true);
      expect(event.branch ?? '').not.toMatch(/^(refs\/|tags\/)/);
      const delivery = lowerCased(entry.headers)['x-github-delivery'];
      expect(event.deliveryId).toBe(delivery);
    });
  }
});
