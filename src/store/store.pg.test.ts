/**
 * The store suite on PostgreSQL. This file creates its own database and drops it afterwards; tests share it
 * and each starts from emptied tables.
 */
import { storeSuite } from './store-suite.js';
import { testDatabase, type TestDatabase } from './pg-test-db.js';

const db = testDatabase();
/** Databases of upgrade tests: each starts without tables, so each is its own, dropped at the end. */
const extra: TestDatabase[] = [];

storeSuite({
  name: 'PostgreSQL',
  setup: () => db.create(),
  teardown: async () => {
    await Promise.all([db, ...extra].map((d) => d.drop()));
  },
  async unmigratedUrl() {
    const d = testDatabase();
    extra.push(d);
    await d.create();
    return d.url;
  },
  async freshUrl() {
    const { rows } = await db.query(`SELECT to_regclass('public.builds') AS t`);
    if (rows[0]?.t) {
      await db.query('TRUNCATE builds, attempts, stages, log_chunks, deliveries, repos, werkers, werker_tokens RESTART IDENTITY CASCADE');
    }
    return db.url;
  },
});
