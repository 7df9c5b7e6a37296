/**
 * "Nothing crashes": mangled variants of real files must come back as issues with usable positions,
 * never as an exception. Deterministic (seeded) so a failure reproduces.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parsePipeline } from './index.js';

const DIR = new URL('../../../shared/fixtures/pipelines/ocelot/', import.meta.url).pathname;

function rng(seed: number): () => number {
  // mulberry32: tiny, good enough to pick edits.
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PIECES = ['-', ':', ' ', '\n', '[', ']', '{', '}', '&a', '*a', '<<: *a', '"', "'", '|', '\\branch', ' and ', '||', '&&', '\t', '---\n', '#'];

function mangle(text: string, rand: () => number): string {
  let out = text;
  const edits = 1 + Math.floor(rand() * 4);
  for (let i = 0; i < edits; i++) {
    const at = Math.floor(rand() * (out.length + 1));
    const roll = rand();
    if (roll < 0.4) out = out.slice(0, at) + out.slice(at + 1 + Math.floor(rand() * 8));
    else out = out.slice(0, at) + (PIECES[Math.floor(rand() * PIECES.length)] ?? '') + out.slice(at);
  }
  return out;
}

describe('robustness', () => {
  const files = readdirSync(DIR);
  it.each(files)('never throws on mangled variants of %s', (file) => {
    const text = readFileSync(join(DIR, file), 'utf8');
    const rand = rng(file.length * 7919);
    for (let i = 0; i < 150; i++) {
      const input = mangle(text, rand);
      const r = parsePipeline(input);
      if (!r.ok) {
        expect(r.issues.length, input).toBeGreaterThan(0);
        for (const issue of r.issues) {
          expect(issue.line, input).toBeGreaterThanOrEqual(1);
          expect(issue.column, input).toBeGreaterThanOrEqual(1);
          expect(issue.message.length, input).toBeGreaterThan(10);
        }
      }
    }
  });
});
