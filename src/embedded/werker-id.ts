import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';

/**
 * A werker id that survives restarts of the same data/work dir, so the docker sweeper recognizes containers of
 * an earlier run of this werker as its own orphans, and `ocelot werkers` shows one row per machine, not per start.
 */
export function stableWerkerId(dir: string, prefix: string): string {
  const file = path.join(dir, 'werker-id');
  try {
    const id = fs.readFileSync(file, 'utf8').trim();
    if (id) return id;
  } catch {
    /* first start */
  }
  const id = `${prefix}-${randomUUID()}`;
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(file, `${id}\n`);
  return id;
}
