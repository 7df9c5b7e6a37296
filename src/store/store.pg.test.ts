/**
 * The store suite on PostgreSQL. This file creates its own database and drops it afterwards; tests share it
 * and each starts from emptied tables.
 */
import { storeSuite } from './store-suite.js';
import { testDatabase } from './pg-test-db.js';

const db = testDatabase();

storeSuite({
  name: 'PostgreSQL',
  setup: () => db.create(),
  teardown: () => db.drop(),
  async freshUrl() {
    const { rows } = await db.query(`SELECT to_regclass('public.builds') AS t`);
    if (rows[0]?.t) {
      await db.query('TRUNCATE builds, attempts, stages, log_chunks, deliveries, repos, werkers, werker_tokens RESTART IDENTITY CASCADE');
    }
    return db.url;
  },
});
