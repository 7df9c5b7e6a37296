/**
 * Enforces the import rules written in docs/architecture.md. Each rule names a folder of src/ and the folders
 * of src/ it may import from; a few single files are allowed across a boundary because they ARE the contract
 * (the werker protocol types, the API view types).
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = path.resolve(import.meta.dirname, '../src');

/** folder → folders (of src/) it may import from. Folders not listed here are unrestricted wiring (cli, embedded). */
const ALLOWED: Record<string, string[]> = {
  events: ['events'],
  pipeline: ['pipeline', 'events'],
  forges: ['forges', 'events'],
  runtimes: ['runtimes'],
  store: ['store', 'events', 'werker/protocol.ts'],
  werker: ['werker', 'events', 'pipeline', 'runtimes', 'store/schema.ts', 'store/log-files.ts'],
  server: ['server', 'events', 'forges', 'store', 'werker/protocol.ts', 'config', 'version.ts'],
  config: ['config'],
  cli: ['cli', 'pipeline', 'runtimes', 'werker/build-env.ts', 'werker/protocol.ts', 'server/views.ts', 'embedded', 'events', 'version.ts', 'store/schema.ts'],
};

/** npm packages a pure folder may use. */
const PURE_PACKAGES: Record<string, string[]> = {
  events: [],
  pipeline: ['yaml', 'ajv'],
};

function* sourceFiles(dir: string): Generator<string> {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* sourceFiles(p);
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) yield p;
  }
}

function importsOf(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const specs: string[] = [];
  const re = /(?:import|export)\s[^'"`;]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;
  for (const m of text.matchAll(re)) specs.push((m[1] ?? m[2])!);
  return specs;
}

const rel = (p: string) => path.relative(SRC, p).split(path.sep).join('/');

describe('import rules (docs/architecture.md)', () => {
  const violations: string[] = [];
  for (const file of sourceFiles(SRC)) {
    const from = rel(file);
    const folder = from.includes('/') ? from.split('/')[0]! : from;
    const allowed = ALLOWED[folder];
    if (!allowed) continue;
    for (const spec of importsOf(file)) {
      if (spec.startsWith('.')) {
        const target = rel(path.resolve(path.dirname(file), spec)).replace(/\.js$/, '.ts');
        const ok = allowed.some((a) => target === a || target.startsWith(`${a}/`));
        if (!ok) violations.push(`${from} imports ${target}`);
      } else if (folder in PURE_PACKAGES) {
        const pkg = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
        if (!PURE_PACKAGES[folder]!.includes(pkg)) violations.push(`${from} (pure) imports package ${spec}`);
      }
    }
  }

  it('every import crosses only an allowed boundary', () => {
    expect(violations).toEqual([]);
  });

  it('the rules are checked against real files (the scan found the pure engine)', () => {
    const files = [...sourceFiles(SRC)].map(rel);
    expect(files.some((f) => f.startsWith('pipeline/'))).toBe(true);
    expect(files.some((f) => f.startsWith('werker/'))).toBe(true);
  });
});
