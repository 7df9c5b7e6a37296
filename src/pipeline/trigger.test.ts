import { describe, expect, it } from 'vitest';
import { describeCondition, evaluateCondition, parseTrigger } from './trigger.js';
import type { StageCondition, TriggerContext } from './types.js';

function ok(text: string): StageCondition {
  const r = parseTrigger(text);
  if (!r.ok) throw new Error(`expected ${text} to parse, got: ${r.message} (column ${r.column})`);
  return r.condition;
}

function err(text: string): { message: string; column: number } {
  const r = parseTrigger(text);
  if (r.ok) throw new Error(`expected ${text} to fail, got ${JSON.stringify(r.condition)}`);
  return r;
}

describe('parseTrigger: grammar', () => {
  it('parses a single section', () => {
    expect(ok('\\branch maven')).toEqual({ type: 'branch', patterns: ['maven'] });
  });

  it('treats keywords and joins case-insensitively', () => {
    expect(ok('\\BRANCH main AND \\Text hi')).toEqual({
      type: 'and',
      all: [
        { type: 'branch', patterns: ['main'] },
        { type: 'text', mode: 'any', values: ['hi'] },
      ],
    });
  });

  it('splits standalone and glued separators', () => {
    const want = { type: 'branch', patterns: ['a', 'b', 'c'] };
    expect(ok('\\branch a||b||c')).toEqual(want);
    expect(ok('\\branch a || b || c')).toEqual(want);
    expect(ok('\\branch a ||b|| c')).toEqual(want);
  });

  it('reads space-separated values as "any", like the original', () => {
    expect(ok('\\text force_build buildBetch')).toEqual({ type: 'text', mode: 'any', values: ['force_build', 'buildBetch'] });
  });

  it('reads && as "all" inside a section', () => {
    expect(ok('\\filepath src/test && src/main')).toEqual({ type: 'filepath', mode: 'all', values: ['src/test', 'src/main'] });
  });

  it('binds and tighter than or: A or B and C = A or (B and C)', () => {
    expect(ok('\\branch a or \\text b and \\filepath c')).toEqual({
      type: 'or',
      any: [
        { type: 'branch', patterns: ['a'] },
        {
          type: 'and',
          all: [
            { type: 'text', mode: 'any', values: ['b'] },
            { type: 'filepath', mode: 'any', values: ['c'] },
          ],
        },
      ],
    });
  });

  it('keeps every section when and/or are mixed (the original dropped the first ones)', () => {
    const c = ok('\\branch a and \\text b or \\filepath c and \\text d');
    expect(c).toEqual({
      type: 'or',
      any: [
        { type: 'and', all: [{ type: 'branch', patterns: ['a'] }, { type: 'text', mode: 'any', values: ['b'] }] },
        { type: 'and', all: [{ type: 'filepath', mode: 'any', values: ['c'] }, { type: 'text', mode: 'any', values: ['d'] }] },
      ],
    });
  });

  it('parses the examples of the original documentation', () => {
    for (const t of [
      '\\branch master||develop||release.* and \\text schema_changed',
      '\\branch master||develop and \\filepath src/test && src/main',
      '\\branch master or \\text force_build || buildBetch',
      '\\text schema_changed and \\filepath deploy/schema/flyway||test/schema/flyway',
      '\\branch master || develop and \\filepath ocelot.yml',
    ]) {
      expect(parseTrigger(t).ok, t).toBe(true);
    }
  });

  it('accepts ALL and regexes for \\branch', () => {
    expect(ok('\\branch ALL')).toEqual({ type: 'branch', patterns: ['ALL'] });
    expect(ok('\\branch release/v[0-9]+')).toEqual({ type: 'branch', patterns: ['release/v[0-9]+'] });
  });
});

describe('parseTrigger: errors name the problem and the column', () => {
  it('empty directive', () => {
    expect(err('')).toMatchObject({ column: 1, message: expect.stringContaining('empty trigger') });
    expect(err('   ')).toMatchObject({ column: 1 });
  });

  it('leading ||', () => {
    expect(err('|| \\branch main')).toMatchObject({ column: 1, message: expect.stringContaining('cannot start with `||`') });
  });

  it('directive not starting with a keyword', () => {
    expect(err('master and \\text x')).toMatchObject({ column: 1, message: expect.stringContaining('must start with') });
    expect(err('branch master')).toMatchObject({ column: 1, message: expect.stringContaining('needs a leading backslash') });
    expect(err('and \\text x')).toMatchObject({ column: 1 });
  });

  it('keyword directly after values: missing and/or (fixture ed81fb3)', () => {
    const e = err('\\branch master \\filepath ocelot.yml');
    expect(e.message).toContain('missing `and` or `or` before \\filepath');
    expect(e.column).toBe(16);
  });

  it('dangling and / or', () => {
    expect(err('\\branch main and')).toMatchObject({ column: 14, message: expect.stringContaining('`and` at the end') });
    expect(err('\\branch main or ')).toMatchObject({ column: 14, message: expect.stringContaining('`or` at the end') });
    expect(err('\\branch main and or \\text x')).toMatchObject({ column: 18, message: expect.stringContaining('directly after `and`') });
  });

  it('keyword with no values', () => {
    expect(err('\\branch')).toMatchObject({ column: 1, message: expect.stringContaining('\\branch needs at least one value') });
    expect(err('\\text x and \\filepath')).toMatchObject({ column: 13, message: expect.stringContaining('\\filepath needs') });
    expect(err('\\branch and \\text x')).toMatchObject({ column: 1, message: expect.stringContaining('needs at least one value') });
    expect(err('\\branch \\text x')).toMatchObject({ message: expect.stringContaining('needs at least one value') });
  });

  it('unknown keyword with a suggestion', () => {
    expect(err('\\brnach master')).toMatchObject({ column: 1, message: expect.stringContaining('did you mean `\\branch`') });
    expect(err('\\branch main and \\txet x')).toMatchObject({ column: 18, message: expect.stringContaining('`\\text`') });
    expect(err('\\branch main \\filepat x')).toMatchObject({ column: 14, message: expect.stringContaining('`\\filepath`') });
  });

  it('mixing || and && in one section', () => {
    expect(err('\\text a || b && c')).toMatchObject({ column: 14, message: expect.stringContaining('cannot be mixed') });
  });

  it('&& mixed with bare spaces is ambiguous', () => {
    expect(err('\\text a && b c')).toMatchObject({ column: 14, message: expect.stringContaining('ambiguous') });
  });

  it('separator problems inside a section', () => {
    expect(err('\\text || a')).toMatchObject({ column: 7, message: expect.stringContaining('put a value first') });
    expect(err('\\text a || || b')).toMatchObject({ column: 12 });
    expect(err('\\text a ||')).toMatchObject({ column: 9, message: expect.stringContaining('needs a value after it') });
    expect(err('\\text a || and \\branch b')).toMatchObject({ column: 9 });
  });

  it('\\branch with && or a bad regex', () => {
    expect(err('\\branch a&&b')).toMatchObject({ message: expect.stringContaining('cannot use `&&`') });
    expect(err('\\branch release/[')).toMatchObject({ message: expect.stringContaining('not a valid regular expression') });
  });
});

describe('evaluateCondition and describeCondition', () => {
  const ctx = (over: Partial<TriggerContext> = {}): TriggerContext => ({
    branch: 'feature/x',
    commitMessages: ['add hello world', 'fix typo'],
    changedFiles: ['src/main/app.go', 'deploy/chart.yaml'],
    ...over,
  });

  it('\\branch matches anchored regexes and ALL', () => {
    expect(evaluateCondition(ok('\\branch feature/.*'), ctx()).met).toBe(true);
    expect(evaluateCondition(ok('\\branch feature'), ctx()).met).toBe(false);
    expect(evaluateCondition(ok('\\branch ALL'), ctx()).met).toBe(true);
    expect(evaluateCondition(ok('\\branch a|feature/x'), ctx()).met).toBe(true);
  });

  it('explains a failed branch condition', () => {
    expect(evaluateCondition(ok('\\branch master'), ctx()).explanation).toBe('\\branch master (branch is feature/x)');
  });

  it('\\branch never matches a tag build', () => {
    const r = evaluateCondition(ok('\\branch ALL'), { commitMessages: [], changedFiles: null, tag: 'v1.0' });
    expect(r).toEqual({ met: false, explanation: '\\branch ALL (tag v1.0: tag builds have no branch)' });
  });

  it('\\text searches commit messages, case-sensitively', () => {
    expect(evaluateCondition(ok('\\text hello'), ctx()).met).toBe(true);
    expect(evaluateCondition(ok('\\text Hello'), ctx()).met).toBe(false);
    expect(evaluateCondition(ok('\\text hello&&typo'), ctx()).met).toBe(true);
    const r = evaluateCondition(ok('\\text hello&&deploy'), ctx());
    expect(r).toEqual({ met: false, explanation: '\\text hello&&deploy (no commit message contains "deploy")' });
  });

  it('\\filepath searches changed paths as substrings; no file list never matches', () => {
    expect(evaluateCondition(ok('\\filepath main/'), ctx()).met).toBe(true);
    expect(evaluateCondition(ok('\\filepath docs/||deploy/'), ctx()).met).toBe(true);
    const r = evaluateCondition(ok('\\filepath src/'), ctx({ changedFiles: null }));
    expect(r).toEqual({ met: false, explanation: '\\filepath src/ (the event carries no list of changed files)' });
  });

  it('applies precedence when evaluating', () => {
    // master or (text nope and filepath src): branch fails, the and-group fails on text.
    const c = ok('\\branch master or \\text nope and \\filepath src');
    expect(evaluateCondition(c, ctx()).met).toBe(false);
    expect(evaluateCondition(c, ctx({ branch: 'master' })).met).toBe(true);
    expect(evaluateCondition(ok('\\branch master or \\text hello and \\filepath src'), ctx()).met).toBe(true);
  });

  it('describes conditions canonically', () => {
    expect(describeCondition(ok('\\BRANCH a || b and \\text x&&y or \\filepath p'))).toBe(
      '\\branch a||b and \\text x&&y or \\filepath p',
    );
  });
});
