/**
 * `ocelot server --database URL` as an operator runs it (the real binary, a real PostgreSQL): a password in the
 * URL — in `user:pw@`, or as `?password=` and the other secret parameters pg reads — never reaches the banner or
 * a connection error, and a key=value conninfo string is not echoed back.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabase, type TestDatabase } from '../src/store/pg-test-db.js';
import { ocelot } from './support/ocelot-process.js';
import { startDaemon } from './support/ocelot-daemon.js';

const ENV = { OCELOT_WEBHOOK_SECRET: 'db-url-hook-secret', OCELOT_ADMIN_TOKEN: 'db-url-admin' };

describe('ocelot server: no database secret in what it prints', () => {
  let tmp: string;
  let db: TestDatabase;
  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ocelot-db-url-'));
    db = testDatabase();
    await db.create();
  });
  afterAll(async () => {
    await db?.drop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('the banner masks ?password= (the database is reached all the same)', async () => {
    // The test database trusts local connections, so the password is ignored; if it does need one (OCELOT_TEST_PG_ADMIN
    // with a password), that password moves into the query, where it is used all the same.
    const u = new URL(db.url);
    const secret = u.password ? decodeURIComponent(u.password) : 'QuerySecret1';
    u.password = '';
    u.searchParams.set('password', secret);
    const d = await startDaemon(
      ['server', '--database', u.toString(), '--host', '127.0.0.1', '--port', '0', '--data-dir', path.join(tmp, 'banner')],
      ENV,
      /listening at (http:\/\/\S+)/,
    );
    try {
      const banner = d.output().split('\n').find((l) => l.includes('listening at'))!;
      expect(banner).toContain(`(database ${u.protocol}//${u.username}@${u.host}${u.pathname}?password=***)`);
      expect(d.output()).not.toContain(secret);
    } finally {
      expect(await d.stop()).toBe(0);
    }
  });

  it('a connection error names the server with every secret of the URL masked', async () => {
    const url = 'postgres://postgres:UserSecret1@127.0.0.1:1/nope?password=QuerySecret1&sslpassword=SslSecret1&application_name=ocelot';
    const r = await ocelot(['server', '--database', url, '--host', '127.0.0.1', '--port', '0', '--data-dir', path.join(tmp, 'unreachable')], ENV);
    const out = r.stdout + r.stderr;
    expect(r.code, out).not.toBe(0);
    expect(out).toContain('cannot connect to PostgreSQL at postgres://postgres:***@127.0.0.1:1/nope?password=***&sslpassword=***&application_name=ocelot');
    expect(out).not.toMatch(/UserSecret1|QuerySecret1|SslSecret1/);
  });

  it('a key=value conninfo string is refused without being echoed', async () => {
    const conninfo = 'host=127.0.0.1 port=5432 user=postgres password=ConninfoSecret1 dbname=ocelot';
    const r = await ocelot(['server', '--database', conninfo, '--host', '127.0.0.1', '--port', '0', '--data-dir', path.join(tmp, 'conninfo')], ENV);
    const out = r.stdout + r.stderr;
    expect(r.code, out).not.toBe(0);
    expect(out).toContain('unsupported database URL (a key=value connection string, not a URL; not shown)');
    expect(out).not.toContain('ConninfoSecret1');
  });
});
