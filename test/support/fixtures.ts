/**
 * Real inputs from ../shared/fixtures (webhook payloads, pipeline files). CI lays shared/ beside the clone;
 * OCELOT_FIXTURES_DIR points elsewhere if needed.
 */
import fs from 'node:fs';
import path from 'node:path';

export const FIXTURES_DIR = process.env.OCELOT_FIXTURES_DIR ?? path.resolve(import.meta.dirname, '../../../shared/fixtures');

export function fixture<T = any>(rel: string): T {
  return JSON.parse(fs.readFileSync(path.join(FIXTURES_DIR, rel), 'utf8')) as T;
}
