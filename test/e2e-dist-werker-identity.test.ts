/**
 * Who a werker is, with real processes and PostgreSQL: a werker id belongs to the token that first registered it
 * (a second werker with another token and a copy of the first one's werker-id file is refused at start, and cannot
 * sign the first one off), names and tags outside the rule are a usage error of `ocelot werker`, and `ocelot
 * werkers` never writes a control character to the terminal, whatever the database holds.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ocelot, ocelotJson } from './support/ocelot-process.js';
import { startCluster, isFinal, type Cluster } from './support/cluster.js';

interface WerkersJson {
  werkers: Array<{ id: string; name: string; online: boolean }>;
}

const EVIL = '\u001b[31mEVIL\u001b[0m\nfake line';
const RULE = "1 to 64 characters: letters, digits, '.', '_', ':' or '-', starting with a letter or digit";

describe('distributed: werker identity', () => {
  let c: Cluster;
  beforeAll(async () => {
    c = await startCluster({ leaseMs: 15_000, pipeline: 'buildTool: shell\nstages:\n  - name: noop\n    script: ["true"]\n' });
    await c.startServer();
  });
  afterAll(async () => c?.close());

  it("a werker with another token and a copy of a running werker's id is refused at start (exit 3), and cannot sign it off", async () => {
    const first = await c.startWerker('first');
    const id = fs.readFileSync(path.join(c.tmp, 'werker-first', 'werker-id'), 'utf8').trim();
    const copyDir = path.join(c.tmp, 'werker-copycat');
    fs.mkdirSync(copyDir, { recursive: true });
    fs.writeFileSync(path.join(copyDir, 'werker-id'), `${id}\n`);
    const { token } = await ocelotJson<{ token: string }>(['werker-token', 'create', 'copycat'], c.env());

    const copycat = await ocelot(
      ['werker', '--server', c.servers[0]!.matched, '--token', token, '--name', 'copycat', '--work-dir', copyDir, '--no-docker'],
      { ...c.env(), OCELOT_TOKEN: '' },
    );
    expect(copycat.code, copycat.stderr).toBe(3);
    expect(copycat.stderr).toContain(`ocelot: werker id ${id} is registered with another token`);
    expect(copycat.stderr).not.toMatch(/\n\s+at /); // one line, no stack

    // The protocol itself, as a hand-written client would try it: signing the first werker off with that token.
    const res = await fetch(`${c.servers[0]!.matched}/api/v1/werker/register`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ werker: { id, name: 'first', tags: [], runtimes: ['host'], slots: 1, version: 'x' }, status: 'offline' }),
    });
    expect(res.status).toBe(409);
    expect(((await res.json()) as { reason: string }).reason).toContain(`werker id ${id} is registered with another token`);
    const listed = await ocelotJson<WerkersJson>(['werkers'], c.env());
    expect(listed.werkers.filter((w) => w.id === id)).toMatchObject([{ name: 'first', online: true }]);

    // The first werker goes on building, and its restart (same token, same id) is the same werker.
    const build = await c.push();
    const s = await c.waitFor(build, isFinal, 30_000);
    expect(s.build.state, s.build.reason ?? '').toBe('PASSED');
    expect(s.attempts.map((a) => a.werkerId)).toEqual([id]);
    expect(await first.stop('SIGTERM')).toBe(0);
  });

  it('ocelot werker: a --name or --tags outside the rule is a usage error (exit 2) with the rule, before it starts', async () => {
    const args = (extra: string[]) => ['werker', '--server', c.servers[0]!.matched, '--token', 'ocw_unused', '--work-dir', path.join(c.tmp, 'never'), '--no-docker', ...extra];
    const badName = await ocelot(args(['--name', EVIL]), { ...c.env(), OCELOT_TOKEN: '' });
    expect(badName.code).toBe(2);
    expect(badName.stderr).toContain(RULE);
    expect(badName.stderr).not.toContain('\u001b');
    const badTag = await ocelot(args(['--name', 'fine', '--tags', 'linux,has space']), { ...c.env(), OCELOT_TOKEN: '' });
    expect(badTag.code).toBe(2);
    expect(badTag.stderr).toContain('--tags: werker tag "has space" is not allowed');
    expect(fs.existsSync(path.join(c.tmp, 'never'))).toBe(false);
  });

  it('ocelot werkers never prints control characters, even from rows stored before names were checked', async () => {
    const now = Date.now();
    await c.db.query(
      `insert into werkers (id, name, tags, runtimes, slots, version, status, started_at, last_seen_at) values ($1, $2, $3, $4, 1, $5, 'online', $6, $6)`,
      ['legacy-evil', EVIL, JSON.stringify(['t\u001b]0;pwned\u0007']), JSON.stringify(['host\r']), '1.0\u202e', now],
    );
    const r = await ocelot(['werkers'], c.env());
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
    expect(r.stdout).toContain('\\x1b[31mEVIL\\x1b[0m\\nfake line');
    expect(r.stdout).toContain('t\\x1b]0;pwned\\x07');
    expect(r.stdout.split('\n').some((line) => line.startsWith('fake line'))).toBe(false);
    // --json carries the values as they are (JSON escapes them).
    const json = await ocelotJson<WerkersJson>(['werkers'], c.env());
    expect(json.werkers.find((w) => w.id === 'legacy-evil')?.name).toBe(EVIL);
  });
});
