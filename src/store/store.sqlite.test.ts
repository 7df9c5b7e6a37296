/** The store suite on SQLite: a new database file per test, as `ocelot up` uses it. */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { storeSuite } from './store-suite.js';

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
});
