/**
 * What every validation step shares: the file name, the locator that turns paths into line:col, and the
 * list of issues. Validation collects every issue instead of stopping at the first, so a user fixes a file
 * in one round trip.
 */
import { closest } from './suggest.js';
import { toPointer, type PathSegment } from './issues.js';
import type { PipelineIssue, SourcePosition } from './types.js';
import type { YamlLocator } from './yaml-source.js';

export class CheckContext {
  readonly issues: PipelineIssue[] = [];

  constructor(
    readonly file: string,
    readonly locator: YamlLocator,
  ) {}

  /** An issue about the value at `path` (or where it should be, when missing). */
  error(path: readonly PathSegment[], message: string): void {
    this.push(path, this.locator.positionOf(path), message);
  }

  /** An issue about the key itself (unknown or misplaced keys). */
  keyError(path: readonly PathSegment[], message: string): void {
    this.push(path, this.locator.keyPositionOf(path), message);
  }

  push(path: readonly PathSegment[], pos: SourcePosition, message: string): void {
    this.issues.push({ file: this.file, line: pos.line, column: pos.column, path: toPointer(path), message });
  }
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** How a value reads to a YAML author, for "must be a list, got a string" messages. */
export function describeValue(v: unknown): string {
  if (v === null || v === undefined) return 'nothing (an empty value)';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return 'a string';
  if (typeof v === 'number') return `the number ${v}`;
  if (typeof v === 'boolean') return `the boolean ${v}`;
  return typeof v;
}

/**
 * Reports keys not in `known`, suggesting the closest known key or a habit from other CIs
 * (`commands` → `script`). `where` names the place for the message ("the top level", "stage 2 (build)").
 */
export function checkKeys(
  ctx: CheckContext,
  obj: Record<string, unknown>,
  path: readonly PathSegment[],
  known: readonly string[],
  where: string,
  hints: Readonly<Record<string, string>> = {},
): void {
  for (const key of Object.keys(obj)) {
    if (known.includes(key)) continue;
    const suggestion = hints[key] ?? closest(key, known);
    const advice = suggestion
      ? `did you mean \`${suggestion}\`?${suggestion.toLowerCase() === key.toLowerCase() ? ' (keys are case-sensitive)' : ''}`
      : `remove it, or use one of: ${known.join(', ')}`;
    ctx.keyError([...path, key], `unknown key \`${key}\` in ${where}: ${advice}`);
  }
}
