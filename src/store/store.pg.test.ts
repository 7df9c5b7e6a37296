/**
 * The store suite on PostgreSQL (127.0.0.1:5432, trust auth, user postgres). This file creates its own
 * database and drops it afterwards; tests share it and start from emptied tables.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { storeSuite } from './store-suite.js';

const admin = process.env.OCELOT_TEST_PG_ADMIN ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const dbName = `ocelot_test_${randomBytes(6).toString('hex')}`;
const url = admin.replace(/\/[^/]*$/, `/${dbName}`);

async function adminQuery(text: string): Promise<void> {
  const c = new pg.Client({ connectionString: admin });
  await c.connect();
  try {
    await c.query(text);
  } finally {
    await c.end();
  }
}

storeSuite({
  name: 'PostgreSQL',
  async setup() {
    await adminQuery(`CREATE DATABASE ${dbName}`);
  },
  async teardown() {
    await adminQuery(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  },
  async freshUrl() {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      const { rows } = await c.query(`SELECT to_regclass('public.builds') AS t`);
      if (rows[0]?.t) {
        await c.query(
          'TRUNCATE builds, attempts, stages, log_chunks, deliveries, repos, werkers, werker_tokens RESTART IDENTITY CASCADE',
        );
      }
    } finally {
      await c.end();
    }
    return url;
  },
});
