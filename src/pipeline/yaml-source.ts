/**
 * The YAML layer: turns text into documents with positions, and answers "where in the file is this path?"
 * for the validator. Validation itself works on plain JS values (simple to reason about); every message is
 * then pinned to a line and column by walking the YAML AST along the same path.
 */
import {
  LineCounter,
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  parseAllDocuments,
  type Document,
  type Node as YamlNode,
} from 'yaml';
import type { PathSegment } from './issues.js';
import type { SourcePosition } from './types.js';

/**
 * Aliases are useful in pipelines, but an "alias bomb" (anchors that alias anchors, nine times over) expands
 * to billions of nodes. yaml counts expansions per anchor; 50 is far above what a real pipeline needs.
 */
export const MAX_ALIAS_COUNT = 50;

export interface YamlDocuments {
  docs: Document.Parsed[];
  lineCounter: LineCounter;
  text: string;
}

export function parseYaml(text: string): YamlDocuments {
  const lineCounter = new LineCounter();
  // YAML 1.2 core schema: `on:` is the string "on", not `true` as YAML 1.1 parsers read it. `merge: true`
  // turns on `<<` merge keys (a 1.1 feature users rely on). uniqueKeys reports duplicate keys as errors.
  const parsed = parseAllDocuments(text, { lineCounter, merge: true, uniqueKeys: true, version: '1.2' });
  // An empty stream comes back as a special non-array object; treat it as zero documents.
  const docs = Array.isArray(parsed) ? parsed : [];
  return { docs, lineCounter, text };
}

export function positionAt(lineCounter: LineCounter, offset: number): SourcePosition {
  const { line, col } = lineCounter.linePos(offset);
  return { line, column: col };
}

/** `<<` as a merge key (plain, not quoted). yaml marks it with a symbol value when merge is on. */
export function isMergeKey(key: unknown): boolean {
  return isScalar(key) && (typeof key.value === 'symbol' || (key.value === '<<' && key.type === 'PLAIN'));
}

export function keyText(key: unknown): string | undefined {
  if (isScalar(key)) return typeof key.value === 'symbol' ? '<<' : String(key.value);
  return undefined;
}

interface Located {
  key?: YamlNode;
  value?: YamlNode;
}

/** Answers positions for paths into one parsed document. */
export class YamlLocator {
  constructor(
    private readonly doc: Document.Parsed,
    private readonly lineCounter: LineCounter,
    private readonly text: string,
  ) {}

  /** Follows aliases so `*defaults` is located where the anchored node is written. */
  private deref(node: unknown): unknown {
    let n = node;
    for (let i = 0; i < 32 && isAlias(n); i++) n = n.resolve(this.doc);
    return n;
  }

  private child(node: unknown, seg: PathSegment, depth = 0): Located | undefined {
    const n = this.deref(node);
    if (depth > 32) return undefined;
    if (isSeq(n) && typeof seg === 'number') {
      const item = n.items[seg];
      return item === undefined ? undefined : { value: item as YamlNode };
    }
    if (!isMap(n)) return undefined;
    // Explicit keys win over merged ones (YAML merge semantics), so look at them first.
    for (const pair of n.items) {
      if (isPair(pair) && !isMergeKey(pair.key) && keyText(pair.key) === String(seg)) {
        return { key: pair.key as YamlNode, value: (pair.value ?? undefined) as YamlNode | undefined };
      }
    }
    for (const pair of n.items) {
      if (!isPair(pair) || !isMergeKey(pair.key)) continue;
      const src = this.deref(pair.value);
      const sources = isSeq(src) ? src.items : [src];
      for (const s of sources) {
        const found = this.child(s, seg, depth + 1);
        if (found) return found;
      }
    }
    return undefined;
  }

  /** The nodes along a path; stops at the last segment that exists. */
  private walk(path: readonly PathSegment[]): Located[] {
    const out: Located[] = [{ value: this.doc.contents as YamlNode }];
    let cur: unknown = this.doc.contents;
    for (const seg of path) {
      const next = this.child(cur, seg);
      if (!next) break;
      out.push(next);
      cur = next.value;
    }
    return out;
  }

  private nodePos(node: unknown): SourcePosition | undefined {
    const n = node as { range?: [number, number, number] } | undefined;
    if (!n?.range) return undefined;
    return positionAt(this.lineCounter, n.range[0]);
  }

  /** Whether a value node has text of its own (an empty `script:` has a null node with no text). */
  private hasText(node: unknown): boolean {
    const n = node as { range?: [number, number, number] } | undefined;
    return !!n?.range && n.range[1] > n.range[0];
  }

  /** Where the value at `path` is written; falls back to its key, then to the nearest existing ancestor. */
  positionOf(path: readonly PathSegment[]): SourcePosition {
    const chain = this.walk(path);
    const last = chain[chain.length - 1];
    if (chain.length === path.length + 1 && this.hasText(last?.value)) {
      const p = this.nodePos(last?.value);
      if (p) return p;
    }
    return this.nodePos(last?.key) ?? this.nodePos(last?.value) ?? { line: 1, column: 1 };
  }

  /** Where the key of the last path segment is written (for "unknown key" messages). */
  keyPositionOf(path: readonly PathSegment[]): SourcePosition {
    const chain = this.walk(path);
    const last = chain.length === path.length + 1 ? chain[chain.length - 1] : undefined;
    return this.nodePos(last?.key) ?? this.positionOf(path);
  }

  /**
   * Position of character `index` (0-based) of the string scalar at `path`, for errors inside a trigger
   * string. Exact when the scalar is written on one line without escapes; otherwise the scalar's start,
   * because folding and escapes break the 1:1 mapping between value and source characters.
   */
  positionInString(path: readonly PathSegment[], index: number): SourcePosition {
    const chain = this.walk(path);
    const node = chain.length === path.length + 1 ? this.deref(chain[chain.length - 1]?.value) : undefined;
    if (!isScalar(node) || !node.range || typeof node.value !== 'string') return this.positionOf(path);
    const start = node.range[0];
    const quoted = node.type === 'QUOTE_SINGLE' || node.type === 'QUOTE_DOUBLE' ? 1 : 0;
    const raw = this.text.slice(start + quoted, start + quoted + node.value.length);
    if (raw === node.value && (node.type === 'PLAIN' || quoted === 1)) {
      return positionAt(this.lineCounter, start + quoted + index);
    }
    return positionAt(this.lineCounter, start);
  }
}
