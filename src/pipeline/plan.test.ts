import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parsePipeline, plan } from './index.js';
import type { PipelineSpec, PlanInput } from './types.js';

const FIXTURES = new URL('../../../shared/fixtures/pipelines/', import.meta.url).pathname;

function pipeline(text: string): PipelineSpec {
  const r = parsePipeline(text);
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.pipeline;
}

function fixture(rel: string): PipelineSpec {
  return pipeline(readFileSync(FIXTURES + rel, 'utf8'));
}

const push = (over: Partial<PlanInput> = {}): PlanInput => ({
  kind: 'push',
  branch: 'main',
  commitMessages: ['change things'],
  changedFiles: ['src/app.ts'],
  ...over,
});

const BASIC = pipeline(
  [
    'buildTool: node',
    'branches: [main, release/.*]',
    'stages:',
    '  - name: test',
    '    script: [npm test]',
    '  - name: deploy',
    '    triggers: ["\\\\branch main and \\\\filepath deploy/"]',
    '    script: [make deploy]',
    '  - name: legacy',
    '    trigger: {branches: [release/.*]}',
    '    script: [make release]',
  ].join('\n'),
);

describe('plan: build level', () => {
  it('builds a matching push and explains skipped stages', () => {
    expect(plan(push(), BASIC)).toEqual({
      build: true,
      stages: [
        { name: 'test', run: true },
        {
          name: 'deploy',
          run: false,
          reason: 'trigger not met: \\filepath deploy/ (no changed file path contains it)',
        },
        { name: 'legacy', run: false, reason: 'trigger not met: \\branch release/.* (branch is main)' },
      ],
    });
  });

  it('refuses a branch that is not in branches', () => {
    const p = plan(push({ branch: 'feature/x' }), BASIC);
    expect(p).toMatchObject({ build: false, reason: 'branch feature/x is not in branches: main, release/.*' });
    expect(p.stages.every((s) => !s.run && s.reason?.startsWith('build skipped: branch feature/x'))).toBe(true);
  });

  it('anchors branch patterns', () => {
    expect(plan(push({ branch: 'not-main' }), BASIC).build).toBe(false);
    expect(plan(push({ branch: 'main-2' }), BASIC).build).toBe(false);
    expect(plan(push({ branch: 'release/1.2' }), BASIC).build).toBe(true);
  });

  it('builds every branch when branches is absent, and with ALL', () => {
    const none = pipeline('buildTool: go\nstages: [{name: x, script: [y]}]\n');
    expect(plan(push({ branch: 'anything/at-all' }), none).build).toBe(true);
    expect(plan(push({ branch: 'feature/x' }), fixture('ocelot/shankj3-ocelot.HEAD.ocelot.yml')).build).toBe(true);
  });

  it('skips on [skip ci] / [ci skip] in any commit message, case-insensitively', () => {
    const p = plan(push({ commitMessages: ['first', 'bump version [Skip CI]\n\nlong body'] }), BASIC);
    expect(p).toMatchObject({
      build: false,
      reason: 'commit message contains [Skip CI]: "bump version [Skip CI]" (trigger with --force to build anyway)',
    });
    expect(plan(push({ commitMessages: ['[ci skip] docs'] }), BASIC).build).toBe(false);
    expect(plan(push({ commitMessages: ['skip ci without brackets'] }), BASIC).build).toBe(true);
  });

  it('lets force bypass [skip ci] and branches, but not stage triggers', () => {
    const p = plan(push({ branch: 'feature/x', commitMessages: ['[skip ci]'], force: true }), BASIC);
    expect(p.build).toBe(true);
    expect(p.stages.map((s) => s.run)).toEqual([true, false, false]);
  });

  it.each(['manual', 'api', 'poll', 'cron'] as const)('matches branches against the branch for %s builds', (kind) => {
    expect(plan(push({ kind, branch: 'main' }), BASIC).build).toBe(true);
    expect(plan(push({ kind, branch: 'dev' }), BASIC)).toMatchObject({ build: false, reason: 'branch dev is not in branches: main, release/.*' });
  });

  it('refuses a build without a branch when branches restricts, unless forced', () => {
    const input: PlanInput = { kind: 'api', commitMessages: [], changedFiles: null };
    expect(plan(input, BASIC)).toMatchObject({ build: false, reason: expect.stringContaining('no branch') });
    expect(plan({ ...input, force: true }, BASIC).build).toBe(true);
  });

  it('matches pull requests by target branch, stage triggers by source branch', () => {
    const pr: PlanInput = {
      kind: 'pull_request',
      branch: 'feature/x',
      targetBranch: 'main',
      commitMessages: ['wip'],
      changedFiles: null,
    };
    const p = plan(pr, BASIC);
    expect(p.build).toBe(true);
    expect(p.stages[1]).toEqual({
      name: 'deploy',
      run: false,
      reason: 'trigger not met: \\branch main (branch is feature/x) and \\filepath deploy/ (the event carries no list of changed files)',
    });
    expect(plan({ ...pr, targetBranch: 'dev' }, BASIC)).toMatchObject({
      build: false,
      reason: "branch dev (the pull request's target) is not in branches: main, release/.*",
    });
    // A PR from a release branch into main: the legacy trigger sees the source branch.
    expect(plan({ ...pr, branch: 'release/2' }, BASIC).stages[2]).toEqual({ name: 'legacy', run: true });
  });

  it('never filters tag builds by branches, and \\branch never matches a tag', () => {
    const tag: PlanInput = { kind: 'tag', tag: 'v1.0.0', commitMessages: ['release'], changedFiles: null };
    const p = plan(tag, BASIC);
    expect(p.build).toBe(true);
    expect(p.stages[0]).toEqual({ name: 'test', run: true });
    expect(p.stages[2]).toEqual({
      name: 'legacy',
      run: false,
      reason: 'trigger not met: \\branch release/.* (tag v1.0.0: tag builds have no branch)',
    });
  });
});

describe('plan: fixtures', () => {
  it('runs the text-trigger stage only on master with "hello" in a commit message', () => {
    const p = fixture('ocelot/shankj3-test-ocelot.8c089b0.text-trigger.ocelot.yml');
    const yes = plan(push({ branch: 'master', commitMessages: ['say hello'] }), p);
    expect(yes.stages[0]).toEqual({ name: 'echo', run: true });
    const no = plan(push({ branch: 'master', commitMessages: ['say bye'] }), p);
    expect(no.stages[0]).toEqual({
      name: 'echo',
      run: false,
      reason: 'trigger not met: \\text hello (no commit message contains it)',
    });
    expect(no.stages.slice(1).every((s) => s.run)).toBe(true);
  });

  it('evaluates `\\branch master || develop and \\filepath ocelot.yml`', () => {
    const p = fixture('ocelot/shankj3-test-ocelot.97723ac.or-and-trigger.ocelot.yml');
    expect(plan(push({ branch: 'master', changedFiles: ['ocelot.yml'] }), p).stages[0]?.run).toBe(true);
    expect(plan(push({ branch: 'master', changedFiles: ['README.md'] }), p).stages[0]?.run).toBe(false);
  });

  it('skips the skipme stage unless on its branch (forced, since branches is [master])', () => {
    const p = fixture('ocelot/shankj3-test-ocelot.3f00353.notify-multiline-env.ocelot.yml');
    expect(plan(push({ branch: 'master' }), p).stages[0]).toEqual({
      name: 'skipme',
      run: false,
      reason: 'trigger not met: \\branch skippppero (branch is master)',
    });
    expect(plan(push({ branch: 'skippppero', force: true }), p).stages[0]?.run).toBe(true);
  });

  it('is deterministic', () => {
    const input = push({ branch: 'release/1', commitMessages: ['a', 'b'] });
    expect(plan(input, BASIC)).toEqual(plan(input, BASIC));
  });
});
