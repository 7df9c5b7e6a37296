/**
 * Evaluates stage conditions against an event and explains the outcome, so a skipped stage is recorded
 * with a reason a person can act on ("trigger not met: \branch main (branch is feature/x)").
 */
import { branchMatches } from './branch-pattern.js';
import type { ConditionOutcome, StageCondition, TriggerContext } from './types.js';

/** Canonical text of a condition, e.g. `\branch main||develop and \text deploy`. */
export function describeCondition(cond: StageCondition): string {
  switch (cond.type) {
    case 'branch':
      return `\\branch ${cond.patterns.join('||')}`;
    case 'text':
    case 'filepath':
      return `\\${cond.type} ${cond.values.join(cond.mode === 'all' ? '&&' : '||')}`;
    case 'and':
      // The language has no parentheses; an `or` inside an `and` only arises from hand-built ASTs.
      return cond.all.map((c) => (c.type === 'or' ? `(${describeCondition(c)})` : describeCondition(c))).join(' and ');
    case 'or':
      return cond.any.map(describeCondition).join(' or ');
  }
}

function quoteList(values: string[]): string {
  return values.map((v) => `"${v}"`).join(', ');
}

/** Substring search shared by \text (in commit messages) and \filepath (in changed paths). */
function searchValues(
  cond: { mode: 'any' | 'all'; values: string[] },
  haystacks: string[],
): { met: boolean; missing: string[] } {
  const missing = cond.values.filter((v) => !haystacks.some((h) => h.includes(v)));
  const met = cond.mode === 'all' ? missing.length === 0 : missing.length < cond.values.length;
  return { met, missing };
}

export function evaluateCondition(cond: StageCondition, ctx: TriggerContext): ConditionOutcome {
  const text = describeCondition(cond);
  switch (cond.type) {
    case 'branch': {
      if (ctx.branch === undefined) {
        const why = ctx.tag !== undefined ? `tag ${ctx.tag}: tag builds have no branch` : 'this build has no branch';
        return { met: false, explanation: `${text} (${why})` };
      }
      const met = branchMatches(cond.patterns, ctx.branch);
      return { met, explanation: `${text} (branch is ${ctx.branch})` };
    }
    case 'text': {
      if (ctx.commitMessages.length === 0) {
        return { met: false, explanation: `${text} (the event carries no commit messages)` };
      }
      const { met, missing } = searchValues(cond, ctx.commitMessages);
      const why = met
        ? 'found in the commit messages'
        : cond.mode === 'all' && missing.length < cond.values.length
          ? `no commit message contains ${quoteList(missing)}`
          : 'no commit message contains it';
      return { met, explanation: `${text} (${why})` };
    }
    case 'filepath': {
      if (ctx.changedFiles === null) {
        return { met: false, explanation: `${text} (the event carries no list of changed files)` };
      }
      const { met, missing } = searchValues(cond, ctx.changedFiles);
      const why = met
        ? 'matched a changed file'
        : cond.mode === 'all' && missing.length < cond.values.length
          ? `no changed file path contains ${quoteList(missing)}`
          : 'no changed file path contains it';
      return { met, explanation: `${text} (${why})` };
    }
    case 'and': {
      const outcomes = cond.all.map((c) => evaluateCondition(c, ctx));
      const failed = outcomes.filter((o) => !o.met);
      if (failed.length === 0) return { met: true, explanation: outcomes.map((o) => o.explanation).join(' and ') };
      return { met: false, explanation: failed.map((o) => o.explanation).join(' and ') };
    }
    case 'or': {
      const outcomes = cond.any.map((c) => evaluateCondition(c, ctx));
      const hit = outcomes.find((o) => o.met);
      if (hit) return hit;
      return { met: false, explanation: outcomes.map((o) => o.explanation).join('; ') };
    }
  }
}
