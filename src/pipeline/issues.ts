/**
 * How pipeline problems are addressed and printed. Kept apart so the CLI, the server and the tests print
 * issues the same way ("ocelot.yml:12:7: message", the format editors and terminals turn into links).
 */
import type { PipelineIssue } from './types.js';

/** One step of a path into the parsed document: a mapping key or a sequence index. */
export type PathSegment = string | number;

export function formatIssue(issue: PipelineIssue): string {
  return `${issue.file}:${issue.line}:${issue.column}: ${issue.message}`;
}

/** JSON-pointer form of a path (`/stages/2/script`), escaped per RFC 6901 so keys with `/` stay unambiguous. */
export function toPointer(path: readonly PathSegment[]): string {
  return path.map((seg) => '/' + String(seg).replace(/~/g, '~0').replace(/\//g, '~1')).join('');
}
