/**
 * Recognizes pipeline files written for another CI (Drone, Woodpecker). People copy their old file to
 * ocelot.yml; a list of "unknown key" errors would bury the real problem, so one message says what the file
 * is and how Ocelot spells the same thing. Works on the AST so it still answers when the YAML has errors
 * (real Drone files carry duplicate keys) or holds several documents.
 */
import { isAlias, isMap, isPair, isScalar, type Document, type Node as YamlNode } from 'yaml';
import { keyText } from './yaml-source.js';

/** Top-level keys that Drone/Woodpecker use and ocelot.yml never had. */
const FOREIGN_TOP_KEYS = new Set([
  'kind',
  'steps',
  'pipeline',
  'when',
  'clone',
  'services',
  'workspace',
  'skip_clone',
  'depends_on',
  'platform',
]);

export interface ForeignHint {
  /** The key that gave it away, for the message. */
  key: string;
  /** Offset of that key in the text. */
  offset: number;
  /** `Drone` when `kind: pipeline` says so; else the two cannot be told apart reliably. */
  system: 'Drone' | 'Drone/Woodpecker';
}

function deref(doc: Document.Parsed, node: unknown): unknown {
  let n = node;
  for (let i = 0; i < 32 && isAlias(n); i++) n = n.resolve(doc);
  return n;
}

export function detectForeignFormat(doc: Document.Parsed): ForeignHint | undefined {
  const top = doc.contents;
  if (!isMap(top)) return undefined;
  const kindPair = top.items.find((p) => isPair(p) && keyText(p.key) === 'kind');
  const isDrone = !!kindPair && isScalar(kindPair.value) && String(kindPair.value.value).toLowerCase() === 'pipeline';
  const system = isDrone ? 'Drone' : 'Drone/Woodpecker';
  for (const pair of top.items) {
    const key = keyText(pair.key);
    const offset = (pair.key as YamlNode | null)?.range?.[0] ?? 0;
    if (key !== undefined && FOREIGN_TOP_KEYS.has(key)) return { key, offset, system };
  }
  // A fragment of a steps map (`deploy: {image, commands}`) has no telling top-level key, but a mapping with
  // `commands:` one level down is a Drone/Woodpecker step; ocelot.yml calls that `script:` inside `stages:`.
  for (const pair of top.items) {
    const value = deref(doc, pair.value);
    if (!isMap(value)) continue;
    const commands = value.items.find((p) => isPair(p) && keyText(p.key) === 'commands');
    if (commands) {
      const offset = (commands.key as YamlNode | null)?.range?.[0] ?? 0;
      return { key: `${keyText(pair.key) ?? '?'}.commands`, offset, system };
    }
  }
  return undefined;
}

export function foreignMessage(hint: ForeignHint): string {
  return (
    `this looks like a ${hint.system} pipeline (it has \`${hint.key}:\`), not an ocelot.yml. ` +
    'Ocelot reads the keys image, machineTag, buildTool, branches, env, stages and notify: ' +
    'rewrite the steps as `stages:`, each with `name:` and `script:` (a list of commands), ' +
    'and branch or path conditions as stage `triggers:` (e.g. `\\branch main and \\filepath src/`). ' +
    'See docs/pipeline.md.'
  );
}
