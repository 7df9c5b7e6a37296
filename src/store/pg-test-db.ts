/**
 * A throwaway PostgreSQL database for one test file (127.0.0.1:5432, trust auth, user postgres, as CI runs it).
 * OCELOT_TEST_PG_ADMIN overrides the admin URL.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const PG_ADMIN_URL = process.env.OCELOT_TEST_PG_ADMIN ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  name: string;
  url: string;
  create(): Promise<void>;
  drop(): Promise<void>;
  /** Run one statement on the test database itself. */
  query(text: string, values?: unknown[]): Promise<pg.QueryResult>;
}

export function testDatabase(): TestDatabase {
  const name = `ocelot_test_${randomBytes(6).toString('hex')}`;
  const url = PG_ADMIN_URL.replace(/\/[^/]*$/, `/${name}`);
  const run = async (connectionString: string, text: string, values?: unknown[]) => {
    const c = new pg.Client({ connectionString });
    await c.connect();
    try {
      return await c.query(text, values);
    } finally {
      await c.end();
    }
  };
  return {
    name,
    url,
    create: async () => void (await run(PG_ADMIN_URL, `CREATE DATABASE ${name}`)),
    drop: async () => void (await run(PG_ADMIN_URL, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)),
    query: (text, values) => run(url, text, values),
  };
}
