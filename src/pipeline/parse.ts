/**
 * Entry point of the engine: text of ocelot.yml in, a validated PipelineSpec or a list of issues out.
 * Order matters: a foreign file (Drone/Woodpecker) is recognized first, so its owner gets one useful
 * message instead of YAML or unknown-key noise; then YAML errors; then the shape and meaning of the keys.
 */
import { isMap, isScalar, visit, type Document, type YAMLError } from 'yaml';
import { CheckContext } from './check-context.js';
import { detectForeignFormat, foreignMessage } from './foreign.js';
import type { ParseResult, PipelineIssue, SourcePosition } from './types.js';
import { validatePipeline } from './validate.js';
import { MAX_ALIAS_COUNT, YamlLocator, isMergeKey, parseYaml, positionAt } from './yaml-source.js';

/** Pipelines are a few KB; refusing huge input keeps the parser's time and memory bounded. */
export const MAX_PIPELINE_BYTES = 1024 * 1024;

function issue(file: string, pos: SourcePosition, message: string, path = ''): PipelineIssue {
  return { file, line: pos.line, column: pos.column, path, message };
}

function keyAtOffset(doc: Document.Parsed, offset: number): string | undefined {
  let found: string | undefined;
  visit(doc, {
    Pair(_, pair) {
      if (isScalar(pair.key) && pair.key.range?.[0] === offset) {
        found = String(pair.key.value);
        return visit.BREAK;
      }
      return undefined;
    },
  });
  return found;
}

function yamlErrorMessage(doc: Document.Parsed, err: YAMLError): string {
  if (err.code === 'DUPLICATE_KEY') {
    const key = keyAtOffset(doc, err.pos[0]);
    return (
      `duplicate key${key !== undefined ? ` \`${key}\`` : ''}: a key may appear only once in a mapping ` +
      '(some parsers silently keep the last one); remove or rename one of them'
    );
  }
  // yaml's own text ends with " at line N, column M:" and a code excerpt; the position is printed separately.
  const first = (err.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
  return `invalid YAML: ${first}; check the indentation and quoting around this spot`;
}

function firstAliasPosition(docs: ReturnType<typeof parseYaml>): SourcePosition {
  let offset = 0;
  const doc = docs.docs[0];
  if (doc) {
    visit(doc, {
      Alias(_, node) {
        offset = node.range?.[0] ?? 0;
        return visit.BREAK;
      },
    });
  }
  return positionAt(docs.lineCounter, offset);
}

function firstMergePosition(docs: ReturnType<typeof parseYaml>): SourcePosition {
  let offset = 0;
  const doc = docs.docs[0];
  if (doc) {
    visit(doc, {
      Pair(_, pair) {
        if (isMergeKey(pair.key)) {
          offset = (pair.key as { range?: [number, number, number] }).range?.[0] ?? 0;
          return visit.BREAK;
        }
        return undefined;
      },
    });
  }
  return positionAt(docs.lineCounter, offset);
}

export function parsePipeline(text: string, file = 'ocelot.yml'): ParseResult {
  if (text.length > MAX_PIPELINE_BYTES) {
    return {
      ok: false,
      issues: [issue(file, { line: 1, column: 1 }, `${file} is larger than 1 MiB; a pipeline file should be a few KB`)],
    };
  }
  const parsed = parseYaml(text);
  const doc = parsed.docs[0];
  if (!doc || doc.contents === null) {
    return {
      ok: false,
      issues: [issue(file, { line: 1, column: 1 }, `${file} is empty: add buildTool and stages (see docs/pipeline.md)`)],
    };
  }

  const foreign = detectForeignFormat(doc);
  if (foreign) {
    return { ok: false, issues: [issue(file, positionAt(parsed.lineCounter, foreign.offset), foreignMessage(foreign))] };
  }

  const issues: PipelineIssue[] = [];
  for (const d of parsed.docs) {
    for (const err of d.errors) issues.push(issue(file, positionAt(parsed.lineCounter, err.pos[0]), yamlErrorMessage(d, err)));
  }
  const second = parsed.docs[1];
  if (second) {
    const offset = second.range[0];
    issues.push(
      issue(
        file,
        positionAt(parsed.lineCounter, offset),
        `${file} holds ${parsed.docs.length} YAML documents (separated by \`---\`); keep one document with all keys`,
      ),
    );
  }
  if (issues.length > 0) return { ok: false, issues };

  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (err) {
    if (err instanceof ReferenceError) {
      return {
        ok: false,
        issues: [
          issue(
            file,
            firstAliasPosition(parsed),
            `aliases in ${file} expand too much (more than ${MAX_ALIAS_COUNT} copies of one anchor), which looks ` +
              'like an alias bomb; reuse fewer anchors or write the values out',
          ),
        ],
      };
    }
    // Anything else yaml refuses while building values (e.g. `<<: *list` merging a sequence) is a file
    // problem, not a crash: report it at the first merge key, where such errors come from.
    return {
      ok: false,
      issues: [issue(file, firstMergePosition(parsed), `invalid YAML: ${(err as Error).message}; merge keys (<<) take a mapping or a list of mappings`)],
    };
  }

  const locator = new YamlLocator(doc, parsed.lineCounter, text);
  if (!isMap(doc.contents) || typeof value !== 'object' || value === null || Array.isArray(value)) {
    return {
      ok: false,
      issues: [
        issue(
          file,
          locator.positionOf([]),
          'the top level of ocelot.yml must be a mapping of keys such as image, buildTool, stages ' +
            '(e.g. `buildTool: go` on its own line)',
        ),
      ],
    };
  }

  const ctx = new CheckContext(file, locator);
  const pipeline = validatePipeline(ctx, value as Record<string, unknown>);
  if (!pipeline) return { ok: false, issues: sortIssues(ctx.issues) };
  return { ok: true, pipeline };
}

/** File order reads naturally in a terminal and matches what editors show. */
function sortIssues(issues: PipelineIssue[]): PipelineIssue[] {
  return [...issues].sort((a, b) => a.line - b.line || a.column - b.column);
}
