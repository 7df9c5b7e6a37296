/**
 * Who a werker is, over the real HTTP werker protocol (a Fastify server on a real port, SQLite, the real
 * HttpWerkerClient and Werker): a werker id belongs to the token that first registered it, so another token can
 * neither sign it off, nor rename it, nor claim under it (409 `werker_id_taken`); names, tags and runtimes must
 * match the protocol's pattern (400 with the rule), and the CLI checks and shows them the same way.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStore } from '../src/store/index.js';
import type { Store } from '../src/store/store.js';
import { serve, type Serving } from '../src/embedded/serve.js';
import { HttpWerkerClient } from '../src/werker/http-client.js';
import { Werker } from '../src/werker/werker.js';
import {
  WERKER_LABEL_PATTERN,
  WerkerIdTakenError,
  normalizeWerkerName,
  werkerInfoProblem,
  type WerkerInfo,
} from '../src/werker/protocol.js';
import { event } from '../src/store/store-suite.js';
import { printable } from '../src/cli/format.js';
import { werkerLabelsOrUsage } from '../src/cli/commands/werker.js';
import { UsageError } from '../src/cli/resolve.js';

const ADMIN = 'identity-admin-token';
const EVIL = '\u001b[31mEVIL\u001b[0m\nfake line';
const info = (id: string, over: Partial<WerkerInfo> = {}): WerkerInfo => ({ id, name: `${id}-name`, tags: [], runtimes: ['host'], slots: 1, version: 'test', ...over });

describe('werker identity over HTTP', () => {
  let tmp: string;
  let store: Store;
  let server: Serving;
  let tokenA: string;
  let tokenB: string;

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ocelot-identity-'));
    store = await createStore({ url: `sqlite:${path.join(tmp, 'ocelot.db')}` });
    server = await serve({
      store,
      port: 0,
      host: '127.0.0.1',
      webhookSecret: 'x',
      adminToken: ADMIN,
      leaseMs: 5_000,
      maxAttempts: 2,
      privateReads: false,
      log: () => undefined,
    });
    tokenA = (await store.createWerkerToken('box-a')).token;
    tokenB = (await store.createWerkerToken('box-b')).token;
  });

  afterAll(async () => {
    await server?.close();
    await store?.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  const client = (token: string) => new HttpWerkerClient({ server: server.url, token, retryForMs: 2_000, retryInitialMs: 50 });
  const post = (route: string, token: string, body: unknown) =>
    fetch(`${server.url}/api/v1/werker/${route}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const listed = async (id: string) => (await store.listWerkers()).find((w) => w.id === id);

  it("another token cannot sign a werker off, rename it or claim under its id: 409 with the reason; the owner's restart works", async () => {
    const a = client(tokenA);
    await a.register(info('box-a-werker', { tags: ['linux'] }));

    const res = await post('register', tokenB, { werker: info('box-a-werker', { name: 'impostor' }), status: 'offline' });
    expect(res.status).toBe(409);
    const answer = (await res.json()) as { error: string; reason: string };
    expect(answer.error).toBe('werker_id_taken');
    expect(answer.reason).toMatch(/^werker id box-a-werker is registered with another token/);
    expect(await listed('box-a-werker')).toMatchObject({ name: 'box-a-werker-name', status: 'online', tags: ['linux'] });

    // The client turns it into WerkerIdTakenError (not retried), for register and for the long-poll claim alike.
    await expect(client(tokenB).register(info('box-a-werker'))).rejects.toBeInstanceOf(WerkerIdTakenError);
    const build = await store.createBuild(event({ branch: 'identity' }), { maxAttempts: 2 });
    await expect(client(tokenB).claim(info('box-a-werker', { tags: ['linux'] }), 1_000, new AbortController().signal)).rejects.toThrow(
      /werker id box-a-werker is registered with another token/,
    );
    // Not even the admin token takes over a werker token's id.
    expect((await post('register', ADMIN, { werker: info('box-a-werker'), status: 'offline' })).status).toBe(409);
    expect(await store.getBuild(build.id)).toMatchObject({ state: 'QUEUED', attempt: 0 });

    // The same token again (a restart of the same werker) is the same werker, and claims as ever.
    await a.register(info('box-a-werker', { tags: ['linux'], slots: 2 }));
    const claim = await a.claim(info('box-a-werker', { tags: ['linux'] }), 1_000, new AbortController().signal);
    expect(claim?.buildId).toBe(build.id);
    await a.report(claim!.lease, { finish: { state: 'PASSED', reason: null } });
    await a.register(info('box-a-werker', { tags: ['linux'] }), 'offline');
    expect(await listed('box-a-werker')).toMatchObject({ status: 'offline' });
  });

  it('a werker started under an id another live token holds stops at once with WerkerIdTakenError', async () => {
    await client(tokenA).register(info('held'));
    const werker = new Werker({
      client: client(tokenB),
      id: 'held',
      name: 'newcomer',
      version: 'test',
      runtimes: {},
      whenUnsupported: 'hand-back',
      spoolPath: (b, a) => path.join(tmp, `${b}-${a}.log`),
      workDir: path.join(tmp, 'ws'),
    });
    await expect(werker.start()).rejects.toBeInstanceOf(WerkerIdTakenError);
    expect((await listed('held'))?.name).toBe('held-name');
  });

  it('once the owning token is revoked, the id is free for the next token', async () => {
    const gone = await store.createWerkerToken('box-gone');
    await client(gone.token).register(info('inherited'));
    await expect(client(tokenB).register(info('inherited'))).rejects.toBeInstanceOf(WerkerIdTakenError);
    await store.revokeWerkerToken('box-gone');
    await client(tokenB).register(info('inherited', { name: 'heir' }));
    expect((await listed('inherited'))?.name).toBe('heir');
  });

  it('names, tags and runtimes outside the rule are refused with 400 and the rule; nothing is stored', async () => {
    for (const werker of [
      info('evil-name', { name: EVIL }),
      info('evil-tag', { tags: ['ok', 'has space'] }),
      info('evil-tag-2', { tags: ['\u202egnp.exe'] }),
      info('evil-runtime', { runtimes: ['host\n'] }),
      info('evil-version', { version: '1.0\u001b[2J' }),
      info('long-name', { name: 'x'.repeat(65) }),
      info('dash-first', { name: '-rf' }),
    ]) {
      const res = await post('register', tokenA, { werker });
      expect(res.status, werker.id).toBe(400);
      const { error, reason } = (await res.json()) as { error: string; reason: string };
      expect(error).toBe('bad_request');
      expect(reason).not.toMatch(/[\u0000-\u001f\u202e]/); // the value is quoted with escapes, never raw
      if (werker.id !== 'evil-version') expect(reason).toContain("1 to 64 characters: letters, digits, '.', '_', ':' or '-', starting with a letter or digit");
      expect(await listed(werker.id)).toBeUndefined();
    }
    expect((await post('register', tokenA, { werker: info('evil-name', { name: EVIL }) }).then((r) => r.json())).reason).toContain(JSON.stringify(EVIL));
    // The claim carries the werker too, and is checked the same way.
    expect((await post('claim', tokenA, { werker: info('evil-claim', { tags: ['a b'] }), waitMs: 0 })).status).toBe(400);
    // What werkers really send is fine: host names, FQDNs, tags like arch:arm64.
    for (const name of ['build-box-1', 'ci01.example.com', 'Mac_mini', '10.0.0.7']) {
      expect((await post('register', tokenA, { werker: info(`ok-${name}`, { name, tags: ['linux', 'arch:arm64', 'big.mem'] }) })).status, name).toBe(200);
    }
  });
});

describe('werker names and tags on the CLI side', () => {
  it('the default name is the host name made to fit the rule; any host name gives a valid one', () => {
    for (const host of ['build-box-1', 'ci01.example.com', "Jane's MacBook Pro", '-weird-', '___', 'ünïcödé', '', 'a'.repeat(300), 'x\u001b[31m']) {
      const name = normalizeWerkerName(host);
      expect(name, host).toMatch(WERKER_LABEL_PATTERN);
    }
    expect(normalizeWerkerName('ci01.example.com')).toBe('ci01.example.com');
    expect(normalizeWerkerName("Jane's MacBook Pro")).toBe('Jane-s-MacBook-Pro');
    expect(normalizeWerkerName('')).toBe('werker');
    expect(werkerLabelsOrUsage(undefined, '').name).toBe(normalizeWerkerName(os.hostname()));
    expect(werkerInfoProblem(info('x', { name: werkerLabelsOrUsage(undefined, '').name }))).toBeNull();
  });

  it('ocelot werker: a --name or --tags outside the rule is a usage error that states the rule', () => {
    expect(werkerLabelsOrUsage('build-box-1', ' linux, big ,')).toEqual({ name: 'build-box-1', tags: ['linux', 'big'] });
    expect(() => werkerLabelsOrUsage(EVIL, '')).toThrow(UsageError);
    expect(() => werkerLabelsOrUsage(EVIL, '')).toThrow(/^--name: werker name "\\u001b\[31mEVIL\\u001b\[0m\\nfake line" is not allowed: .*1 to 64 characters/);
    expect(() => werkerLabelsOrUsage('ok', 'linux,has space')).toThrow(/^--tags: werker tag "has space" is not allowed/);
  });

  it('printable: control characters are shown escaped, never written', () => {
    expect(printable(EVIL)).toBe('\\x1b[31mEVIL\\x1b[0m\\nfake line');
    expect(printable('a\u202eb\u0085c\u007f\td')).toBe('a\\u202eb\\x85c\\x7f\\td');
    expect(printable('build-box-1 ünïcödé')).toBe('build-box-1 ünïcödé');
  });
});
