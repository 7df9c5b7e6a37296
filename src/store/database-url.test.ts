import { describe, expect, it } from 'vitest';
import { maskDatabaseSecrets, redactDatabaseUrl } from './database-url.js';
import { openDialect } from './dialect.js';

describe('redactDatabaseUrl: a database URL as it may be printed', () => {
  it('masks the password of user:pw@', () => {
    expect(redactDatabaseUrl('postgres://ocelot:change-me@db:5432/ocelot')).toBe('postgres://ocelot:***@db:5432/ocelot');
    expect(redactDatabaseUrl('postgresql://u:p%40ss%2Fword@db/x')).toBe('postgresql://u:***@db/x');
    // An unescaped @ in the password: the userinfo ends at the last @.
    expect(redactDatabaseUrl('postgres://u:p@ss@db/x')).toBe('postgres://u:***@db/x');
  });

  it('masks secret query parameters, and keeps the others as they were', () => {
    expect(redactDatabaseUrl('postgres://postgres@127.0.0.1:5432/db?password=QuerySecret1')).toBe('postgres://postgres@127.0.0.1:5432/db?password=***');
    const shown = redactDatabaseUrl(
      'postgres://u:UserSecret1@db/x?sslmode=verify-full&sslpassword=SslSecret1&sslkey=/etc/keys/client.key&sslcert=/etc/keys/client.crt&PassFile=/home/u/.pgpass&application_name=ocelot%20ci',
    );
    expect(shown).toBe(
      'postgres://u:***@db/x?sslmode=verify-full&sslpassword=***&sslkey=***&sslcert=/etc/keys/client.crt&PassFile=***&application_name=ocelot%20ci',
    );
    // Percent-encoded parameter names are recognized too.
    expect(redactDatabaseUrl('postgres://db/x?pass%77ord=Enc0ded')).toBe('postgres://db/x?pass%77ord=***');
    expect(redactDatabaseUrl('postgres://db/x?password=a&password=b')).toBe('postgres://db/x?password=***&password=***');
  });

  it('leaves URLs without secrets alone', () => {
    expect(redactDatabaseUrl('postgres://postgres@127.0.0.1:5432/ocelot')).toBe('postgres://postgres@127.0.0.1:5432/ocelot');
    expect(redactDatabaseUrl('postgres://db/x?sslmode=require')).toBe('postgres://db/x?sslmode=require');
    expect(redactDatabaseUrl('sqlite:/var/lib/ocelot/ocelot.db')).toBe('sqlite:/var/lib/ocelot/ocelot.db');
  });

  it('never echoes a key=value conninfo string or something that does not parse: it says "not a URL"', () => {
    const conninfo = redactDatabaseUrl('host=127.0.0.1 port=5432 user=postgres password=ConninfoSecret1 dbname=ocelot');
    expect(conninfo).toBe('(a key=value connection string, not a URL; not shown)');
    // An unescaped slash in the password makes the "port" not a number: not a URL, and not shown.
    const broken = redactDatabaseUrl('postgres://u:pa/ssBroken1@db/x');
    expect(broken).toMatch(/not.*URL/);
    expect(broken).not.toContain('Broken1');
    expect(redactDatabaseUrl('just some words Secret1')).toBe('(not a URL; not shown)');
  });

  it('a URL that parses with a secret in odd places still does not show it', () => {
    // "postgres://u:12/34@h": the parser takes 12 for the port and /34@h for the path.
    expect(redactDatabaseUrl('postgres://u:12/3456Odd@db/x?password=Q1x')).toBe('postgres://***@db/x?password=***');
    expect(redactDatabaseUrl('postgres://u@h/db#FragSecret1')).not.toContain('FragSecret1');
  });
});

describe('maskDatabaseSecrets: a driver message about the URL', () => {
  it('masks the values of the URL secrets wherever they appear, raw or decoded', () => {
    const url = 'postgres://u:p%40ssWord1@db/x?sslkey=/etc/keys/client.key&sslpassword=SslSecret1';
    const msg = "ENOENT: no such file or directory, open '/etc/keys/client.key'; password p@ssWord1; key pass SslSecret1";
    const masked = maskDatabaseSecrets(msg, url);
    expect(masked).toBe("ENOENT: no such file or directory, open '***'; password ***; key pass ***");
  });
});

describe('openDialect: the unsupported-URL error shows no secret', () => {
  it('a conninfo string is not echoed', async () => {
    const err = await openDialect('host=127.0.0.1 user=postgres password=ConninfoSecret1 dbname=ocelot').catch((e: Error) => e);
    expect(String(err)).toMatch(/unsupported database URL \(a key=value connection string, not a URL; not shown\): use sqlite:\/path/);
    expect(String(err)).not.toContain('ConninfoSecret1');
  });

  it('another scheme is shown with its secrets masked', async () => {
    const err = await openDialect('mysql://root:MySecret1@db/x?password=QuerySecret1').catch((e: Error) => e);
    expect(String(err)).toContain('unsupported database URL mysql://root:***@db/x?password=***');
    expect(String(err)).not.toMatch(/MySecret1|QuerySecret1/);
  });
});
