/**
 * PostgreSQL wake-ups survive a dropped LISTEN connection: the store reconnects, wakes its listeners once (they
 * may have missed something), and hears NOTIFY again afterwards.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createStore } from './create-store.js';
import { testDatabase } from './pg-test-db.js';
import { event } from './store-suite.js';

const db = testDatabase();
beforeAll(() => db.create());
afterAll(() => db.drop());

const until = async (check: () => boolean | Promise<boolean>, ms = 5000) => {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
};

it('re-listens after the LISTEN connection is killed', async () => {
  const listener = await createStore({ url: db.url });
  const writer = await createStore({ url: db.url });
  try {
    let wakes = 0;
    listener.onQueued(() => wakes++);
    await writer.createBuild(event());
    await until(() => wakes === 1);

    // Kill every LISTEN session of this database (the listener's and the writer's).
    const killed = await db.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND query ILIKE 'LISTEN%'`,
      [db.name],
    );
    expect(killed.rowCount).toBeGreaterThanOrEqual(1);
    // The reconnect itself wakes listeners once, since notifications may have been lost meanwhile.
    await until(() => wakes === 2);
    await until(async () => {
      const { rows } = await db.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND query ILIKE 'LISTEN%'`, [db.name]);
      return rows[0].n >= 2;
    });
    await writer.createBuild(event());
    await until(() => wakes === 3);
  } finally {
    await listener.close();
    await writer.close();
  }
});

it('names the server it could not reach, without the password', async () => {
  await expect(createStore({ url: 'postgres://postgres:hunter2@127.0.0.1:1/nope' })).rejects.toThrow(
    /cannot connect to PostgreSQL at postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:1\/nope/,
  );
});
