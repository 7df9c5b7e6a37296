/**
 * The JSON Schema must not drift: from the committed schema/ocelot.schema.json, nor from the validator.
 * Regenerate the committed file with: OCELOT_WRITE_SCHEMA=1 npx vitest run src/pipeline/schema.test.ts
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parsePipeline, pipelineSchema } from './index.js';

const SCHEMA_FILE = new URL('../../schema/ocelot.schema.json', import.meta.url).pathname;
const FIXTURES = new URL('../../../shared/fixtures/pipelines/', import.meta.url).pathname;

if (process.env['OCELOT_WRITE_SCHEMA']) writeFileSync(SCHEMA_FILE, JSON.stringify(pipelineSchema, null, 2) + '\n');

const ajv = new Ajv({ allErrors: true, allowUnionTypes: true, strict: true });
const validateSchema = ajv.compile(pipelineSchema);

function firstDocument(text: string): unknown {
  const docs = parseAllDocuments(text, { merge: true, uniqueKeys: false });
  try {
    return Array.isArray(docs) ? docs[0]?.toJS() : null;
  } catch {
    // Woodpecker's `<<: *list` is not YAML; such a file is not an ocelot.yml either way.
    return null;
  }
}

const files = (dir: string): string[] =>
  readdirSync(join(FIXTURES, dir))
    .filter((f) => !f.endsWith('.json'))
    .map((f) => `${dir}/${f}`);

describe('JSON Schema', () => {
  it('equals the committed schema/ocelot.schema.json', () => {
    expect(JSON.parse(readFileSync(SCHEMA_FILE, 'utf8'))).toEqual(pipelineSchema);
  });

  it('describes every top-level and stage key', () => {
    for (const prop of Object.values(pipelineSchema.properties)) expect(prop.description).toBeTruthy();
    for (const prop of Object.values(pipelineSchema.definitions.stage.properties)) expect(prop.description).toBeTruthy();
  });

  // Every fixture except those whose problem only the engine can see (trigger grammar, file name).
  const semanticOnly = new Set([
    'invalid/ocelot.test-ocelot.ed81fb3.trigger-missing-conjunction.ocelot.yml',
    'invalid/ocelot.validate-fixture.bad-name.yml',
  ]);
  const all = ['ocelot', 'crlf', 'invalid', 'woodpecker', 'drone'].flatMap(files).filter((f) => !semanticOnly.has(f));
  it.each(all)('agrees with the validator on %s', (file) => {
    const text = readFileSync(join(FIXTURES, file), 'utf8');
    expect(validateSchema(firstDocument(text))).toBe(parsePipeline(text).ok);
  });

  const samples = [
    'buildTool: go\nstages: [{name: x, script: [y]}]',
    'image: a\nmachineTag: b\nbuildTool: go\nbranches: []\nenv: {A: 1, B: x}\nstages: [{name: x, script: [y, 1, true], timeout: 10m}]',
    'buildTool: go\nstages: [{name: x, script: "y"}]',
    'buildTool: go\nstages: [{name: x, script: []}]',
    'buildTool: go\nstages: []',
    'buildTool: go\nstages: [{name: x, script: [y], commands: [z]}]',
    'buildTool: go\nimgae: x\nstages: [{name: x, script: [y]}]',
    'buildTool: go\nenv: ["1A=x"]\nstages: [{name: x, script: [y]}]',
    'buildTool: go\nstages: [{name: x, script: [y], timeout: soon}]',
    'buildTool: go\nstages: [{name: x, script: [y], trigger: {branches: []}}]',
    'buildTool: go\nstages: [{name: x, script: [y]}]\nnotify: {slack: {identifier: t, on: [pass]}}',
    'buildTool: go\nstages: [{name: x, script: [y]}]\nnotify: {slack: {on: [PASS]}}',
    'buildTool: go\nstages: [{name: x, script: [y]}]\nnotify: {slack: {identifier: t, on: [maybe]}}',
    'image: a\nbuildTool: go\nresources: {memory: 512m, cpus: 1.5, pids: 256}\ndockerSocket: true\nstages: [{name: x, script: [y]}]',
    'image: a\nbuildTool: go\nresources: {memory: 67108864}\nstages: [{name: x, script: [y]}]',
    'image: a\nbuildTool: go\nresources: {memory: lots}\nstages: [{name: x, script: [y]}]',
    'image: a\nbuildTool: go\nresources: {cpus: 0}\nstages: [{name: x, script: [y]}]',
    'image: a\nbuildTool: go\nresources: {pids: 2.5}\nstages: [{name: x, script: [y]}]',
    'image: a\nbuildTool: go\nresources: {cpu: 1}\nstages: [{name: x, script: [y]}]',
    'image: a\nbuildTool: go\ndockerSocket: yes\nstages: [{name: x, script: [y]}]',
    'buildTool: go\nresources: {memory: 1g}\nstages: [{name: x, script: [y]}]',
    'buildTool: go\ndockerSocket: true\nstages: [{name: x, script: [y]}]',
  ];
  it.each(samples)('agrees with the validator on %j', (text) => {
    expect(validateSchema(firstDocument(text))).toBe(parsePipeline(text).ok);
  });
});
