/**
 * The trigger language of stage `triggers:` strings, e.g. `\branch main||release/.* and \filepath deploy/`.
 *
 *   directive := andGroup ("or" andGroup)*
 *   andGroup  := section ("and" section)*
 *   section   := KEYWORD value (SEP? value)*
 *   KEYWORD   := \branch | \text | \filepath        (case-insensitive)
 *   SEP       := "||" | "&&"                         (standalone or glued to values: "a||b")
 *
 * `and` binds tighter than `or`, as && and || do in every programming language, so `A or B and C` is
 * `A or (B and C)`. The original kept only the sections after the last and/or switch; here nothing is
 * dropped, and every malformed directive is an error with the column of the offending token.
 */
import { ALL_BRANCHES, compileBranchPattern } from './branch-pattern.js';
import { closest } from './suggest.js';
import type { StageCondition, TriggerParseResult } from './types.js';

const KEYWORDS = ['\\branch', '\\text', '\\filepath'] as const;
type Keyword = (typeof KEYWORDS)[number];
const KEYWORD_LIST = '\\branch, \\text or \\filepath';

type TokenKind = 'keyword' | 'join' | 'sep' | 'value';
interface Token {
  kind: TokenKind;
  text: string;
  /** 1-based column in the directive string. */
  column: number;
}

class TriggerError extends Error {
  constructor(
    message: string,
    readonly column: number,
  ) {
    super(message);
  }
}

function classify(text: string): TokenKind {
  if (text === '||' || text === '&&') return 'sep';
  const lower = text.toLowerCase();
  if (lower === 'and' || lower === 'or') return 'join';
  if ((KEYWORDS as readonly string[]).includes(lower)) return 'keyword';
  return 'value';
}

/** Splits on whitespace, then splits glued separators off values ("a||b" → a, ||, b), keeping columns. */
function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  for (const chunk of text.matchAll(/\S+/g)) {
    const base = chunk.index ?? 0;
    let offset = 0;
    for (const part of chunk[0].split(/(\|\||&&)/)) {
      if (part !== '') tokens.push({ kind: classify(part), text: part, column: base + offset + 1 });
      offset += part.length;
    }
  }
  return tokens;
}

/** A backslash word that is not a keyword but close to one is a misspelt keyword, not a value. */
function misspeltKeyword(token: Token): string | undefined {
  if (token.kind !== 'value' || !token.text.startsWith('\\')) return undefined;
  return closest(token.text, KEYWORDS);
}

/** `branch`, `text`, `filepath` written without the backslash. */
function missingBackslash(token: Token): string | undefined {
  const lower = token.text.toLowerCase();
  return KEYWORDS.find((k) => k.slice(1) === lower);
}

class Parser {
  private i = 0;
  constructor(private readonly tokens: Token[]) {}

  private peek(): Token | undefined {
    return this.tokens[this.i];
  }

  parse(): StageCondition {
    const groups: StageCondition[][] = [[this.section(true)]];
    for (let t = this.peek(); t; t = this.peek()) {
      // section() only stops at a join or at the end, so t is a join here.
      this.i++;
      const next = this.peek();
      const word = t.text.toLowerCase();
      if (!next) {
        throw new TriggerError(
          `\`${t.text}\` at the end needs a condition after it, e.g. \`${word} \\text deploy\`; add one or remove \`${t.text}\``,
          t.column,
        );
      }
      if (next.kind === 'join') {
        throw new TriggerError(
          `\`${next.text}\` directly after \`${t.text}\`: put a condition such as \`\\branch main\` between them`,
          next.column,
        );
      }
      if (word === 'or') groups.push([]);
      groups[groups.length - 1]?.push(this.section(false));
    }
    const ors = groups.map((g): StageCondition => (g.length === 1 && g[0] ? g[0] : { type: 'and', all: g }));
    return ors.length === 1 && ors[0] ? ors[0] : { type: 'or', any: ors };
  }

  private section(first: boolean): StageCondition {
    const head = this.peek();
    if (!head) throw new TriggerError('empty trigger', 1);
    if (head.kind !== 'keyword') throw this.notAKeyword(head, first);
    this.i++;
    const keyword = head.text.toLowerCase() as Keyword;
    const values: string[] = [];
    let mode: 'any' | 'all' | undefined;
    let pendingSep: Token | undefined;
    let spaceBetweenValues: Token | undefined;

    for (let t = this.peek(); t && t.kind !== 'join'; t = this.peek()) {
      if (t.kind === 'value') {
        const misspelt = misspeltKeyword(t);
        if (misspelt) throw unknownKeyword(t, misspelt);
        if (values.length > 0 && !pendingSep) spaceBetweenValues ??= t;
        values.push(t.text);
        pendingSep = undefined;
      } else if (t.kind === 'sep') {
        if (values.length === 0) {
          throw new TriggerError(
            `\`${t.text}\` directly after ${head.text}: put a value first, e.g. \`${head.text} a${t.text}b\``,
            t.column,
          );
        }
        if (pendingSep) {
          throw new TriggerError(`\`${t.text}\` after \`${pendingSep.text}\`: put a value between them`, t.column);
        }
        const m = t.text === '||' ? 'any' : 'all';
        if (mode && mode !== m) {
          throw new TriggerError(
            '`||` and `&&` cannot be mixed in one section: split it into two sections joined by `and` or `or`, ' +
              `e.g. \`${head.text} a&&b or ${head.text} c\``,
            t.column,
          );
        }
        mode = m;
        pendingSep = t;
      } else {
        // A keyword straight after values: the user forgot the conjunction (fixture ed81fb3).
        if (values.length === 0) throw noValues(head);
        if (pendingSep) {
          throw new TriggerError(`\`${pendingSep.text}\` must be followed by a value, not ${t.text}`, t.column);
        }
        throw new TriggerError(
          `missing \`and\` or \`or\` before ${t.text}: write \`... and ${t.text} ...\` (both must hold) ` +
            `or \`... or ${t.text} ...\` (either is enough)`,
          t.column,
        );
      }
      this.i++;
    }

    if (values.length === 0) throw noValues(head);
    if (pendingSep) {
      throw new TriggerError(
        `\`${pendingSep.text}\` at the end of the values of ${head.text} needs a value after it; add one or remove it`,
        pendingSep.column,
      );
    }
    if (mode === 'all' && spaceBetweenValues) {
      throw new TriggerError(
        `values of ${head.text} are separated by both \`&&\` and spaces, which is ambiguous: ` +
          'put `&&` between every value (all must match) or use `||` (any may match)',
        spaceBetweenValues.column,
      );
    }
    if (keyword === '\\branch') {
      if (mode === 'all') {
        throw new TriggerError(
          '\\branch cannot use `&&`: a build has one branch. List alternatives with `||`, e.g. `\\branch main||develop`',
          head.column,
        );
      }
      for (const v of values) {
        if (v === ALL_BRANCHES) continue;
        const c = compileBranchPattern(v);
        if (!c.ok) {
          throw new TriggerError(
            `\\branch value \`${v}\` is not a valid regular expression (${c.error}); values are regular ` +
              'expressions matched against the whole branch name, e.g. `release/.*`',
            head.column,
          );
        }
      }
      return { type: 'branch', patterns: values };
    }
    return { type: keyword === '\\text' ? 'text' : 'filepath', mode: mode ?? 'any', values };
  }

  private notAKeyword(t: Token, first: boolean): TriggerError {
    const misspelt = misspeltKeyword(t);
    if (misspelt) return unknownKeyword(t, misspelt);
    if (t.kind === 'sep') {
      return new TriggerError(
        `a condition cannot start with \`${t.text}\`: start with ${KEYWORD_LIST}, e.g. \`\\branch main||develop\``,
        t.column,
      );
    }
    const bare = missingBackslash(t);
    if (bare) {
      return new TriggerError(
        `\`${t.text}\` needs a leading backslash: write \`${bare}\` (keywords are ${KEYWORD_LIST})`,
        t.column,
      );
    }
    if (t.kind === 'join') {
      return new TriggerError(
        `\`${t.text}\` must come between two conditions: start with ${KEYWORD_LIST}, e.g. \`\\branch main\``,
        t.column,
      );
    }
    return new TriggerError(
      first
        ? `a trigger must start with ${KEYWORD_LIST}, found \`${t.text}\`; e.g. \`\\branch main\``
        : `expected ${KEYWORD_LIST} after \`and\`/\`or\`, found \`${t.text}\``,
      t.column,
    );
  }
}

function noValues(head: Token): TriggerError {
  const example = head.text.toLowerCase() === '\\branch' ? 'main' : head.text.toLowerCase() === '\\text' ? 'deploy' : 'src/';
  return new TriggerError(`${head.text} needs at least one value, e.g. \`${head.text} ${example}\``, head.column);
}

function unknownKeyword(t: Token, suggestion: string): TriggerError {
  return new TriggerError(
    `unknown keyword \`${t.text}\`: did you mean \`${suggestion}\`? (keywords are ${KEYWORD_LIST})`,
    t.column,
  );
}

/** Parses one `triggers:` string. Errors carry the 1-based column inside the string. */
export function parseTrigger(text: string): TriggerParseResult {
  const tokens = tokenize(text);
  if (tokens.length === 0) {
    return {
      ok: false,
      message: 'empty trigger: write a condition such as `\\branch main`, or remove the entry',
      column: 1,
    };
  }
  try {
    return { ok: true, condition: new Parser(tokens).parse() };
  } catch (err) {
    if (err instanceof TriggerError) return { ok: false, message: err.message, column: err.column };
    throw err;
  }
}

/** Several `triggers:` strings are alternatives (OR), as in the original. */
export function anyOf(conditions: StageCondition[]): StageCondition | null {
  const flat = conditions.flatMap((c) => (c.type === 'or' ? c.any : [c]));
  if (flat.length === 0) return null;
  return flat.length === 1 && flat[0] ? flat[0] : { type: 'or', any: flat };
}

// Evaluation lives in its own module; re-exported so the trigger language has one import site.
export { describeCondition, evaluateCondition } from './trigger-eval.js';
