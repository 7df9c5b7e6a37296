import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatIssue, parsePipeline } from './index.js';
import type { ParseResult, PipelineIssue, PipelineSpec } from './types.js';

const FIXTURES = new URL('../../../shared/fixtures/pipelines/', import.meta.url).pathname;
const read = (rel: string): string => readFileSync(join(FIXTURES, rel), 'utf8');
const list = (dir: string): string[] => readdirSync(join(FIXTURES, dir)).filter((f) => !f.endsWith('.json')).map((f) => `${dir}/${f}`);

function accepted(r: ParseResult): PipelineSpec {
  if (!r.ok) throw new Error(r.issues.map(formatIssue).join('\n'));
  return r.pipeline;
}

function rejected(r: ParseResult): PipelineIssue[] {
  if (r.ok) throw new Error('expected the file to be rejected');
  return r.issues;
}

const MINIMAL = 'buildTool: go\nstages:\n  - name: test\n    script: [go test ./...]\n';

describe('fixtures', () => {
  it.each([...list('ocelot'), ...list('crlf')])('accepts %s', (file) => {
    const p = accepted(parsePipeline(read(file)));
    expect(p.stages.length).toBeGreaterThan(0);
  });

  it('parses CRLF files exactly like their LF originals', () => {
    expect(parsePipeline(read('crlf/shankj3-test-ocelot.3f00353.crlf.ocelot.yml'))).toEqual(
      parsePipeline(read('ocelot/shankj3-test-ocelot.3f00353.notify-multiline-env.ocelot.yml')),
    );
    expect(parsePipeline(read('crlf/bensonmiller-go-http-hello-world.crlf.ocelot.yml'))).toEqual(
      parsePipeline(read('ocelot/bensonmiller-go-http-hello-world.ocelot.yml')),
    );
  });

  it('reads the original Ocelot pipeline completely', () => {
    const p = accepted(parsePipeline(read('ocelot/shankj3-ocelot.HEAD.ocelot.yml')));
    expect(p.image).toBe('docker.metaverse.l11.com/ocelot/base:latest');
    expect(p.buildTool).toBe('go');
    expect(p.branches).toEqual(['ALL']);
    expect(p.env).toEqual([['OCELOT_PATH', 'src/github.com/shankj3/ocelot']]);
    expect(p.notify).toEqual({ slack: { channel: '@some-user', identifier: 'ocelot-base', on: ['PASS', 'FAIL'] } });
    expect(p.stages.map((s) => s.name)).toEqual(['check ssh file', 'triggered', 'be_useful', 'go_stuff', 'testing', 'build']);
    const triggered = p.stages[1];
    expect(triggered?.condition).toEqual({ type: 'branch', patterns: ['creds_to_postgres'] });
    expect(triggered?.conditionText).toBe('\\branch creds_to_postgres');
    expect(triggered?.position).toEqual({ line: 18, column: 5 });
    expect(p.stages[4]?.env).toEqual([['BUILDSERVERHACK', '0']]);
  });

  it('keeps multi-line env values and duplicate stage names', () => {
    const p = accepted(parsePipeline(read('ocelot/shankj3-test-ocelot.3f00353.notify-multiline-env.ocelot.yml')));
    expect(p.env).toEqual([
      ['MARIANNE', '1'],
      ['multiline', 'hi\nlorem\nipsum'],
    ]);
    expect(p.stages.filter((s) => s.name === 'build')).toHaveLength(2);
  });

  it('reads `trigger.branches: []` as no restriction', () => {
    const p = accepted(parsePipeline(read('ocelot/eccramer-github-ocelot-test.ocelot.yml')));
    expect(p.stages[0]?.condition).toBeNull();
    expect(p.env).toEqual([]);
  });

  it('compiles the fixture triggers', () => {
    const p = accepted(parsePipeline(read('ocelot/shankj3-test-ocelot.97723ac.or-and-trigger.ocelot.yml')));
    expect(p.stages[0]?.condition).toEqual({
      type: 'and',
      all: [
        { type: 'branch', patterns: ['master', 'develop'] },
        { type: 'filepath', mode: 'any', values: ['ocelot.yml'] },
      ],
    });
    expect(p.stages[0]?.conditionText).toBe('\\branch master || develop and \\filepath ocelot.yml');
  });

  it('rejects a stage without script, naming the stage and its line', () => {
    const issues = rejected(parsePipeline(read('invalid/ocelot.test-ocelot.e319607.stage-without-script.ocelot.yml')));
    expect(issues).toHaveLength(1);
    expect(formatIssue(issues[0]!)).toBe(
      'ocelot.yml:12:6: stage 1 (skipme) has no script: add `script:` with a list of commands, one per item',
    );
    expect(issues[0]?.path).toBe('/stages/0/script');
  });

  it('rejects a trigger with a missing conjunction at the column of \\filepath', () => {
    const issues = rejected(parsePipeline(read('invalid/ocelot.test-ocelot.ed81fb3.trigger-missing-conjunction.ocelot.yml')));
    expect(issues).toHaveLength(1);
    // Line 20 is `      - \branch master \filepath ocelot.yml`; \filepath starts at column 24.
    expect(issues[0]).toMatchObject({ line: 20, column: 24, path: '/stages/0/triggers/0' });
    expect(issues[0]?.message).toContain('missing `and` or `or` before \\filepath');
  });

  it('rejects a missing buildTool', () => {
    const issues = rejected(parsePipeline(read('invalid/ocelot.validate-fixture.no-buildTool.ocelot.yml')));
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ line: 1, column: 1, path: '' });
    expect(issues[0]?.message).toContain('missing `buildTool`');
  });

  it('rejects a top level that is not a mapping', () => {
    const issues = rejected(parsePipeline(read('invalid/ocelot.validate-fixture.not-a-mapping.ocelot.yml')));
    expect(formatIssue(issues[0]!)).toMatch(
      /^ocelot\.yml:1:1: the top level of ocelot\.yml must be a mapping of keys such as image, buildTool, stages/,
    );
  });

  it('leaves the file name check to the caller (bad-name.yml has valid content)', () => {
    expect(parsePipeline(read('invalid/ocelot.validate-fixture.bad-name.yml'), 'bad-name.yml').ok).toBe(true);
  });

  const foreign = [
    ...list('woodpecker'),
    ...list('drone'),
    ...list('invalid').filter((f) => /invalid\/(woodpecker|drone)-/.test(f)),
  ];
  it.each(foreign)('rejects %s with the foreign-format message', (file) => {
    const issues = rejected(parsePipeline(read(file)));
    expect(issues).toHaveLength(1);
    expect(issues[0]?.message).toMatch(/looks like a (Drone|Drone\/Woodpecker) pipeline/);
    expect(issues[0]?.message).toContain('stages');
  });

  it('points at the key that gave the foreign format away', () => {
    const issues = rejected(parsePipeline(read('drone/go-gitea-gitea.drone.yml')));
    expect(issues[0]).toMatchObject({ line: 2, column: 1 });
    expect(issues[0]?.message).toContain('looks like a Drone pipeline (it has `kind:`)');
    const block = rejected(parsePipeline(read('invalid/drone-2688.commands-as-block-string.yml')));
    expect(block[0]).toMatchObject({ line: 5, column: 5 });
  });
});

describe('YAML handling', () => {
  it('reads `on:` as the string key "on" (YAML 1.2)', () => {
    const p = accepted(
      parsePipeline(MINIMAL + 'notify:\n  slack:\n    identifier: team\n    on: [pass, Fail]\n'),
    );
    expect(p.notify?.slack?.on).toEqual(['PASS', 'FAIL']);
  });

  it('supports anchors, aliases and << merge keys', () => {
    const text = [
      'buildTool: go',
      'stages:',
      '  - &base',
      '    name: test',
      '    env: {GOFLAGS: -mod=vendor}',
      '    script: [go test ./...]',
      '  - <<: *base',
      '    name: vet',
      '    script: [go vet ./...]',
      '  - <<: *base',
      '    name: bad',
      '    script: "oops"',
    ].join('\n');
    const issues = rejected(parsePipeline(text));
    // The merged stage inherits env; the explicit `script` overrides and is reported where it is written.
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ line: 12, column: 13, path: '/stages/2/script' });
    const good = accepted(parsePipeline(text.replace('script: "oops"', 'script: [true]')));
    expect(good.stages[1]).toMatchObject({ name: 'vet', env: [['GOFLAGS', '-mod=vendor']], script: ['go vet ./...'] });
  });

  it('refuses an alias bomb with a clear error', () => {
    const text = [
      'buildTool: go',
      'a: &a ["x","x","x","x","x","x","x","x","x"]',
      'b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]',
      'c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]',
      'd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]',
      'e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]',
      'stages: [{name: x, script: *e}]',
    ].join('\n');
    const issues = rejected(parsePipeline(text));
    expect(issues).toHaveLength(1);
    expect(issues[0]?.message).toContain('alias bomb');
    expect(issues[0]).toMatchObject({ line: 3, column: 8 });
  });

  it('reports duplicate keys with their name and position', () => {
    const issues = rejected(parsePipeline('buildTool: go\nimage: a\nimage: b\nstages: [{name: x, script: [y]}]\n'));
    expect(issues).toHaveLength(1);
    expect(formatIssue(issues[0]!)).toMatch(/^ocelot\.yml:3:1: duplicate key `image`/);
  });

  it('rejects several YAML documents', () => {
    const issues = rejected(parsePipeline(MINIMAL + '---\n' + MINIMAL));
    // MINIMAL has 4 lines; the `---` starting the second document is line 5.
    expect(issues[0]).toMatchObject({ line: 5, column: 1 });
    expect(issues[0]?.message).toContain('2 YAML documents');
  });

  it('reports YAML syntax errors with a position', () => {
    const issues = rejected(parsePipeline('buildTool: go\nstages:\n  - name: "unclosed\n'));
    expect(issues.length).toBeGreaterThan(0);
    expect(issues[0]?.message).toMatch(/^invalid YAML: /);
    // The unclosed quote is only detected at the end of the input (line 4).
    expect(issues[0]?.message).toContain('Missing closing "quote');
    expect(issues[0]?.line).toBe(4);
  });

  it('reports a merge of a non-mapping instead of crashing', () => {
    const text = 'x: &list [a, b]\nbuildTool: go\nstages:\n  - <<: *list\n    name: a\n    script: [b]\n';
    const issues = rejected(parsePipeline(text));
    expect(issues[0]).toMatchObject({ line: 4, column: 5 });
    expect(issues[0]?.message).toMatch(/^invalid YAML: Merge sources must be maps/);
  });

  it('rejects an empty file', () => {
    expect(rejected(parsePipeline(''))[0]?.message).toContain('is empty');
    expect(rejected(parsePipeline('# only a comment\n'))[0]?.message).toContain('is empty');
  });

  it('uses the given file name in issues', () => {
    const issues = rejected(parsePipeline('buildTool: go\n', 'ci/ocelot.yml'));
    expect(formatIssue(issues[0]!)).toMatch(/^ci\/ocelot\.yml:1:1: missing `stages`/);
  });
});

describe('validation', () => {
  it('accepts a minimal file: no image, no machineTag, no branches (host runtime, every branch)', () => {
    const p = accepted(parsePipeline(MINIMAL));
    expect(p).toMatchObject({ buildTool: 'go', branches: null, env: [] });
    expect(p.image).toBeUndefined();
    expect(p.machineTag).toBeUndefined();
  });

  it('allows image and machineTag together', () => {
    const p = accepted(parsePipeline('image: golang\nmachineTag: mac\n' + MINIMAL));
    expect(p).toMatchObject({ image: 'golang', machineTag: 'mac' });
  });

  it('reads `branches: []` as every branch', () => {
    expect(accepted(parsePipeline('branches: []\n' + MINIMAL)).branches).toBeNull();
  });

  it('ignores the legacy packages key', () => {
    expect(accepted(parsePipeline('packages: [gcc, make]\n' + MINIMAL)).stages).toHaveLength(1);
  });

  it('collects every issue, each with line and column', () => {
    const text = [
      'imgae: golang', // 1
      'buildTool: go', // 2
      'branches:', // 3
      '  - main', // 4
      '  - release/[', // 5
      'env:', // 6
      '  - 1BAD=x', // 7
      '  - NOEQUALS', // 8
      'stages:', // 9
      '  - name: build', // 10
      '    script: |', // 11
      '      make', // 12
      '  - name: test', // 13
      '    commands: [make test]', // 14
      '    timeout: soon', // 15
    ].join('\n');
    const issues = rejected(parsePipeline(text));
    expect(issues.map((i) => [i.line, i.column, i.path])).toEqual([
      [1, 1, '/imgae'],
      [5, 5, '/branches/1'],
      [7, 5, '/env/0'],
      [8, 5, '/env/1'],
      [11, 13, '/stages/0/script'],
      [13, 5, '/stages/1/script'],
      [14, 5, '/stages/1/commands'],
      [15, 14, '/stages/1/timeout'],
    ]);
    const messages = issues.map((i) => i.message);
    expect(messages[0]).toBe('unknown key `imgae` in the top level: did you mean `image`?');
    expect(messages[1]).toContain('`release/[` is not a valid regular expression');
    expect(messages[2]).toContain('`1BAD` is not a valid environment variable name');
    expect(messages[3]).toContain('has no NAME=');
    expect(messages[4]).toMatch(/^script must be a list of commands \(one per item\)/);
    expect(messages[5]).toContain('stage 2 (test) has no script');
    expect(messages[6]).toBe('unknown key `commands` in stage 2 (test): did you mean `script`?');
    expect(messages[7]).toContain('"90s", "10m", "1h"');
  });

  it('suggests the right case for a mis-cased key', () => {
    const issues = rejected(parsePipeline('machinetag: mac\n' + MINIMAL));
    expect(issues[0]?.message).toBe('unknown key `machinetag` in the top level: did you mean `machineTag`? (keys are case-sensitive)');
  });

  it('lists the known keys when nothing is close', () => {
    const issues = rejected(parsePipeline('zzzzzzzz: 1\n' + MINIMAL));
    expect(issues[0]?.message).toContain('use one of: image, machineTag, buildTool, branches, env, stages, notify');
  });

  it('accepts env as a mapping and keeps its order', () => {
    const p = accepted(parsePipeline('env:\n  B: 1\n  A: "two"\n  C: true\n  D:\n' + MINIMAL));
    expect(p.env).toEqual([
      ['B', '1'],
      ['A', 'two'],
      ['C', 'true'],
      ['D', ''],
    ]);
  });

  it('turns scalar script items into strings and rejects mapping items', () => {
    const p = accepted(parsePipeline('buildTool: go\nstages:\n  - name: 1\n    script: [true, 42, echo hi]\n'));
    expect(p.stages[0]).toMatchObject({ name: '1', script: ['true', '42', 'echo hi'] });
    const issues = rejected(parsePipeline('buildTool: go\nstages:\n  - name: x\n    script:\n      - echo a: b\n'));
    expect(issues[0]).toMatchObject({ line: 5, column: 9, path: '/stages/0/script/0' });
    expect(issues[0]?.message).toContain('quote the whole command');
  });

  it('parses timeouts', () => {
    const stage = (t: string) => accepted(parsePipeline(`buildTool: go\nstages:\n  - {name: x, script: [y], timeout: ${t}}\n`)).stages[0];
    expect(stage('90')?.timeoutSeconds).toBe(90);
    expect(stage('90s')?.timeoutSeconds).toBe(90);
    expect(stage('10m')?.timeoutSeconds).toBe(600);
    expect(stage('1h')?.timeoutSeconds).toBe(3600);
    expect(stage('1h30m')?.timeoutSeconds).toBe(5400);
    expect(rejected(parsePipeline('buildTool: go\nstages:\n  - {name: x, script: [y], timeout: 0}\n'))).toHaveLength(1);
  });

  it('prefers triggers over the legacy trigger block', () => {
    const p = accepted(
      parsePipeline(
        'buildTool: go\nstages:\n  - name: x\n    script: [y]\n    trigger: {branches: [legacy]}\n    triggers: ["\\\\branch new"]\n',
      ),
    );
    expect(p.stages[0]?.condition).toEqual({ type: 'branch', patterns: ['new'] });
  });

  it('ORs several triggers strings', () => {
    const p = accepted(
      parsePipeline('buildTool: go\nstages:\n  - name: x\n    script: [y]\n    triggers:\n      - \\branch main\n      - \\text deploy and \\filepath k8s/\n'),
    );
    expect(p.stages[0]?.condition?.type).toBe('or');
    expect(p.stages[0]?.conditionText).toBe('\\branch main or \\text deploy and \\filepath k8s/');
  });

  it('puts trigger errors at the column inside quoted strings', () => {
    const issues = rejected(parsePipeline("buildTool: go\nstages:\n  - name: x\n    script: [y]\n    triggers: ['\\branch a and']\n"));
    // The quote is at column 16, so the value starts at 17 and `and` (index 10) is at column 27.
    expect(issues[0]).toMatchObject({ line: 5, column: 27 });
  });

  it('validates notify', () => {
    const issues = rejected(parsePipeline(MINIMAL + 'notify:\n  email: {to: me}\n  slack:\n    channel: "#x"\n    on: [PASS, maybe]\n'));
    expect(issues.map((i) => i.message)).toEqual([
      expect.stringContaining('unknown key `email` in notify'),
      expect.stringContaining('notify.slack needs `identifier:`'),
      expect.stringContaining('"maybe" is not PASS or FAIL'),
    ]);
    const p = accepted(parsePipeline(MINIMAL + 'notify:\n  slack:\n    identifier: team\n'));
    expect(p.notify).toEqual({ slack: { identifier: 'team', on: ['PASS', 'FAIL'] } });
  });

  it('rejects empty stages and non-list stages', () => {
    expect(rejected(parsePipeline('buildTool: go\nstages: []\n'))[0]?.message).toContain('at least one stage');
    expect(rejected(parsePipeline('buildTool: go\nstages: build\n'))[0]?.message).toContain('stages is a string');
  });
});
