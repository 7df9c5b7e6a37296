/**
 * Lists of branch patterns (`branches:` and legacy `trigger.branches`), checked entry by entry so a bad
 * regular expression is reported at its own line, at validation time rather than when a webhook arrives.
 */
import { ALL_BRANCHES, badPatternMessage, compileBranchPattern } from './branch-pattern.js';
import { describeValue, type CheckContext } from './check-context.js';
import type { PathSegment } from './issues.js';

export function parseBranchList(ctx: CheckContext, value: unknown, path: PathSegment[], where: string): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    ctx.error(path, `${where} is ${describeValue(value)}: give a list of branch patterns, e.g. [main, release/.*]`);
    return [];
  }
  const out: string[] = [];
  value.forEach((entry, i) => {
    if (typeof entry !== 'string') {
      // `- 1.0` is the number 1 to YAML; quoting keeps the branch name intact.
      ctx.error([...path, i], `${where} entry ${i + 1} is ${describeValue(entry)}: quote it to make it a branch name`);
      return;
    }
    if (entry !== ALL_BRANCHES) {
      const c = compileBranchPattern(entry);
      if (!c.ok) {
        ctx.error([...path, i], badPatternMessage(entry, c.error, where));
        return;
      }
    }
    out.push(entry);
  });
  return out;
}
