/**
 * Branch patterns, shared by top-level `branches`, legacy `trigger.branches` and `\branch`: each entry is a
 * regular expression anchored at both ends (as the original did with `^entry$`), and `ALL` matches every
 * branch. Anchoring keeps `main` from matching `not-main`.
 */

export const ALL_BRANCHES = 'ALL';

const cache = new Map<string, RegExp>();

/** Compiles one entry; returns the error text when it is not a valid regular expression. */
export function compileBranchPattern(pattern: string): { ok: true; regex: RegExp } | { ok: false; error: string } {
  const cached = cache.get(pattern);
  if (cached) return { ok: true, regex: cached };
  try {
    // The non-capturing group keeps `a|b` anchored as a whole (`^(?:a|b)$`, not `^a|b$`).
    const regex = new RegExp(`^(?:${pattern})$`);
    cache.set(pattern, regex);
    return { ok: true, regex };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
}

/** Message for an entry that does not compile; says what the entry is and what to do. */
export function badPatternMessage(pattern: string, error: string, where: string): string {
  return (
    `${where} entry \`${pattern}\` is not a valid regular expression (${error}). ` +
    'Entries are regular expressions matched against the whole branch name, e.g. `main` or `release/.*`; ' +
    'escape special characters or use `ALL` for every branch.'
  );
}

export function branchMatches(patterns: readonly string[], branch: string): boolean {
  return patterns.some((p) => {
    if (p === ALL_BRANCHES) return true;
    const c = compileBranchPattern(p);
    // Validation rejects bad patterns before a plan is made; a bad one here simply never matches.
    return c.ok && c.regex.test(branch);
  });
}
