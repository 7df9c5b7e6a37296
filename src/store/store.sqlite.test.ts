/** The store suite on SQLite: a new database file per test, as `ocelot up` uses it. */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createStore } from './create-store.js';
import { sqlitePath } from './dialect.js';
import { event, storeSuite } from './store-suite.js';

let dir = '';
let n = 0;
storeSuite({
  name: 'SQLite',
  async setup() {
    dir = mkdtempSync(path.join(os.tmpdir(), 'ocelot-sqlite-'));
  },
  async teardown() {
    rmSync(dir, { recursive: true, force: true });
  },
  async freshUrl() {
    return `sqlite:${path.join(dir, `t${++n}.db`)}`;
  },
  async unmigratedUrl() {
    return `sqlite:${path.join(dir, `t${++n}.db`)}`;
  },
});

describe('SQLite URLs', () => {
  it('opens sqlite::memory: and refuses unknown URLs with a hint', async () => {
    const s = await createStore({ url: 'sqlite::memory:' });
    try {
      const b = await s.createBuild(event());
      expect((await s.getBuild(b.id))?.state).toBe('QUEUED');
    } finally {
      await s.close();
    }
    await expect(createStore({ url: 'mysql://x' })).rejects.toThrow(/sqlite:\/path/);
    expect(sqlitePath('sqlite:/var/lib/ocelot/ocelot.db')).toBe('/var/lib/ocelot/ocelot.db');
    expect(sqlitePath('sqlite:///var/lib/ocelot.db')).toBe('/var/lib/ocelot.db');
    expect(sqlitePath('sqlite:data/ocelot.db')).toBe('data/ocelot.db');
  });
});
