/**
 * The store's behaviour, written once and run against every dialect (store.sqlite.test.ts, store.pg.test.ts).
 * Real databases only: the point is that the same queries behave the same on both.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync, statSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { BuildEvent } from '../events/model.js';
import { LeaseLostError, WerkerIdTakenError, type BuildResultState, type ClaimedBuild, type Lease, type LogChunk, type StageRecord, type WerkerInfo } from '../werker/protocol.js';
import { Migrator, type Kysely } from 'kysely';
import { createStore } from './create-store.js';
import { openDialect } from './dialect.js';
import { migrationProvider } from './migrations.js';
import { hashWerkerToken } from './werker-tokens.js';
import { ADMIN_OWNER, LOCAL_OWNER } from './werkers.js';
import { attemptLogPath } from './log-files.js';
import type { BuildRow, Store, StoreConfig } from './store.js';

export interface Harness {
  name: string;
  setup(): Promise<void>;
  teardown(): Promise<void>;
  /** URL of an empty database (migrated or not) for one test. */
  freshUrl(): Promise<string>;
  /** URL of a database with no tables at all (never migrated), for upgrade tests. */
  unmigratedUrl(): Promise<string>;
}

let counter = 0;
export function event(over: Partial<BuildEvent> = {}): BuildEvent {
  return {
    forge: 'github',
    kind: 'push',
    account: 'acme',
    repo: 'app',
    cloneUrl: 'https://git.example/acme/app.git',
    commit: randomBytes(20).toString('hex'),
    branch: 'main',
    commitMessages: [`change ${++counter}`],
    changedFiles: ['src/a.ts'],
    sender: 'alice',
    ...over,
  };
}

export function werker(id: string, tags: string[] = [], runtimes: string[] = ['host']): WerkerInfo {
  return { id, name: `${id}-name`, tags, runtimes, slots: 1, version: 'test' };
}

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (chunks: Array<{ data: Uint8Array }>) => chunks.map((c) => new TextDecoder().decode(c.data)).join('');

/** Chunks of `parts` with consecutive seqs and offsets. */
function chunksOf(parts: string[], startSeq = 0, startOffset = 0): LogChunk[] {
  let offset = startOffset;
  return parts.map((p, i) => {
    const data = enc(p);
    const c = { seq: startSeq + i, stageOrdinal: 0, offset, data };
    offset += data.byteLength;
    return c;
  });
}

/** Every werker write goes through `report` (one fenced transaction); these name the shapes the tests send. */
const reportStages = (s: Store, lease: Lease, stages: StageRecord[]) => s.report(lease, { stages });
const reportStage = (s: Store, lease: Lease, stage: StageRecord) => s.report(lease, { stages: [stage] });
const reportChunks = (s: Store, lease: Lease, chunks: LogChunk[]) => s.report(lease, { chunks });
const reportFinish = (s: Store, lease: Lease, state: BuildResultState, reason: string | null) => s.report(lease, { finish: { state, reason } });

function waitFor(register: (wake: () => void) => () => void, ms = 3000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no wake-up within ${ms} ms`));
    }, ms);
    const off = register(() => {
      clearTimeout(timer);
      off();
      resolve();
    });
  });
}

export function storeSuite(h: Harness): void {
  describe(`store on ${h.name}`, () => {
    let url: string;
    let opened: Store[] = [];
    let tmp: string;

    const open = async (extra: Partial<StoreConfig> = {}): Promise<Store> => {
      const s = await createStore({ url, ...extra });
      opened.push(s);
      return s;
    };

    beforeAll(() => h.setup());
    afterAll(() => h.teardown());
    beforeEach(async () => {
      url = await h.freshUrl();
      tmp = mkdtempSync(path.join(os.tmpdir(), 'ocelot-store-'));
    });
    afterEach(async () => {
      await Promise.all(opened.map((s) => s.close()));
      opened = [];
      rmSync(tmp, { recursive: true, force: true });
    });

    /** Create a build and claim it with a fresh werker. */
    async function runningBuild(s: Store, leaseMs = 60_000, ev: Partial<BuildEvent> = {}) {
      const b = await s.createBuild(event(ev));
      const w = werker(`w-${b.id}-${Math.random().toString(36).slice(2, 6)}`);
      await s.registerWerker(w);
      const c = await s.claimNext(w, leaseMs);
      expect(c?.buildId).toBe(b.id);
      return { build: b, claim: c as ClaimedBuild, werker: w };
    }

    it('migrations are idempotent and a second instance opens the migrated database', async () => {
      const s = await open();
      await s.migrate();
      await s.migrate();
      const again = await open();
      await again.migrate();
      const b = await again.createBuild(event());
      expect((await s.getBuild(b.id))?.state).toBe('QUEUED');
    });

    it('creates builds with every field mapped and remembers the repository', async () => {
      const s = await open();
      const ev = event({
        kind: 'pull_request',
        pr: { number: 7, title: 't', sourceBranch: 'feat', targetBranch: 'main', sourceRepo: 'acme/app', fromFork: false, action: 'opened' },
        branch: 'feat',
        keepContainer: true,
      });
      const b = await s.createBuild(ev, { pipeline: 'ocelot.yml', maxAttempts: 3 });
      expect(b).toMatchObject({
        forge: 'github',
        account: 'acme',
        repo: 'app',
        commit: ev.commit,
        branch: 'feat',
        prNumber: 7,
        sourceBranch: 'feat',
        targetBranch: 'main',
        eventKind: 'pull_request',
        triggeredBy: 'alice',
        state: 'QUEUED',
        attempt: 0,
        maxAttempts: 3,
        requires: [],
        werkerId: null,
        cancelRequested: false,
        keepContainer: true,
        startedAt: null,
        finishedAt: null,
        queueWaitMs: null,
      });
      expect(typeof b.queuedAt).toBe('number');
      expect(b.event).toEqual(ev);
      expect(await s.findRepo('acme/app')).toEqual({ forge: 'github', account: 'acme', repo: 'app', cloneUrl: ev.cloneUrl });
      expect(await s.findRepo('acme/nope')).toBeNull();
      expect(await s.findRepo('garbage')).toBeNull();

      const skipped = await s.createBuild(event(), { state: 'SKIPPED', reason: '[skip ci] in the commit message' });
      expect(skipped.state).toBe('SKIPPED');
      expect(skipped.reason).toBe('[skip ci] in the commit message');
      expect(skipped.finishedAt).toBe(skipped.queuedAt);
      expect(await s.getBuild(99999)).toBeNull();
    });

    it('records a delivery once and replays the first answer on redelivery', async () => {
      const s = await open();
      const first = await s.recordDelivery('github', 'd-1', [{ event: event() }, { event: event({ repo: 'other', cloneUrl: 'https://x/o.git' }) }]);
      expect(first.duplicate).toBe(false);
      expect(first.answer.outcome).toBe('build');
      expect(first.answer.buildIds).toHaveLength(2);
      const again = await s.recordDelivery('github', 'd-1', [{ event: event() }]);
      expect(again).toEqual({ duplicate: true, answer: first.answer });
      expect(await s.listBuilds({ limit: 100 })).toHaveLength(2);
      expect((await s.findRepo('acme/other'))?.cloneUrl).toBe('https://x/o.git');

      // Same id on another forge is another delivery.
      const other = await s.recordDelivery('bitbucket', 'd-1', [], 'branch deleted');
      expect(other).toEqual({ duplicate: false, answer: { outcome: 'ignore', reason: 'branch deleted' } });
      expect((await s.recordDelivery('bitbucket', 'd-1', [])).answer.reason).toBe('branch deleted');

      // Without a delivery id nothing can be deduplicated.
      await s.recordDelivery('github', undefined, [{ event: event() }]);
      await s.recordDelivery('github', undefined, [{ event: event() }]);
      expect(await s.listBuilds({ limit: 100 })).toHaveLength(4);

      const b = (await s.getBuild(first.answer.buildIds![0]!))!;
      expect(b.state).toBe('QUEUED');
    });

    it('concurrent redeliveries of one delivery create its builds once', async () => {
      const s = await open();
      const s2 = await open();
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) => (i % 2 ? s : s2).recordDelivery('github', 'same', [{ event: event() }])),
      );
      expect(results.filter((r) => !r.duplicate)).toHaveLength(1);
      const ids = new Set(results.map((r) => r.answer.buildIds![0]));
      expect(ids.size).toBe(1);
      expect(await s.listBuilds({ limit: 100 })).toHaveLength(1);
    });

    it('claims the oldest build first and records the claim', async () => {
      const s = await open();
      const a = await s.createBuild(event());
      const b = await s.createBuild(event());
      const w = werker('w1');
      await s.registerWerker(w);
      const c1 = (await s.claimNext(w, 30_000))!;
      expect(c1.buildId).toBe(a.id);
      expect(c1.lease).toMatchObject({ buildId: a.id, attempt: 1 });
      expect(c1.lease.token).toMatch(/\S{16,}/);
      expect(c1.leaseExpiresAt).toBeGreaterThan(Date.now() + 20_000);
      expect(c1.event.commit).toBe(a.commit);
      expect(c1.previousSuccessfulCommit).toBeNull();
      const c2 = (await s.claimNext(w, 30_000))!;
      expect(c2.buildId).toBe(b.id);
      expect(c2.lease.token).not.toBe(c1.lease.token);
      expect(await s.claimNext(w, 30_000)).toBeNull();

      const row = (await s.getBuild(a.id))!;
      expect(row).toMatchObject({ state: 'RUNNING', attempt: 1, werkerId: 'w1' });
      expect(row.startedAt).not.toBeNull();
      expect(row.queueWaitMs).toBe(row.startedAt! - row.queuedAt);
      expect(await s.getAttempts(a.id)).toEqual([
        { buildId: a.id, attempt: 1, werkerId: 'w1', state: 'RUNNING', reason: null, claimedAt: row.startedAt, finishedAt: null },
      ]);
    });

    it('routes by labels: a build that needs a tag or runtime waits for a werker that has it', async () => {
      const s = await open();
      const plain = werker('plain');
      const mac = werker('mac', ['mac']);
      const docker = werker('docker', [], ['host', 'docker']);
      const needsMac = await s.createBuild(event());
      const needsDocker = await s.createBuild(event());
      const any = await s.createBuild(event());

      // The requirement is learned by planning: the first werker hands it back with what it needs.
      const first = (await s.claimNext(plain, 30_000))!;
      await s.handBack(first.lease, ['tag:mac'], 'needs machineTag mac');
      const second = (await s.claimNext(plain, 30_000))!;
      expect(second.buildId).toBe(needsDocker.id);
      await s.handBack(second.lease, ['runtime:docker'], 'needs docker');

      expect((await s.claimNext(plain, 30_000))!.buildId).toBe(any.id);
      expect(await s.claimNext(plain, 30_000)).toBeNull();
      const d = (await s.claimNext(docker, 30_000))!;
      expect(d.buildId).toBe(needsDocker.id);
      expect(d.requires).toEqual(['runtime:docker']);
      const m = (await s.claimNext(mac, 30_000))!;
      expect(m.buildId).toBe(needsMac.id);
      expect(m.requires).toEqual(['tag:mac']);
    });

    it('never hands one build to two werkers under concurrent claims', async () => {
      const a = await open();
      const b = await open();
      const n = 24;
      for (let i = 0; i < n; i++) await a.createBuild(event());
      const claims = await Promise.all(
        Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).claimNext(werker(`c${i}`), 30_000)),
      );
      const got = claims.filter((c): c is ClaimedBuild => c !== null);
      const ids = got.map((c) => c.buildId);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids.length).toBe(n);
      for (const c of got) expect((await a.getAttempts(c.buildId)).length).toBe(1);
    });

    it('werker writes racing expiry sweeps and cancels: only LeaseLostError, and the books balance', async () => {
      const a = await open();
      const b = await open();
      const builds: BuildRow[] = [];
      for (let i = 0; i < 8; i++) builds.push(await a.createBuild(event()));
      let stop = false;
      const unexpected: unknown[] = [];
      const guard = (p: Promise<unknown>) =>
        p.catch((err) => {
          if (!(err instanceof LeaseLostError)) unexpected.push(err);
          throw err;
        });

      const werkerLoop = async (i: number) => {
        const s = i % 2 ? a : b;
        const w = werker(`race${i}`);
        let seq = 0;
        while (!stop) {
          const c = await guard(s.claimNext(w, 40));
          if (!c) {
            await new Promise((r) => setTimeout(r, 2));
            continue;
          }
          const claim = c as ClaimedBuild;
          // Half the werkers write the way werkers do (batched reports, the result with the last of them), half
          // with the single-purpose calls: both must hold up against the sweeps and cancels.
          if (i >= 3) {
            try {
              await guard(s.report(claim.lease, { stages: [{ ordinal: 0, name: 'run', kind: 'user', state: 'RUNNING' }], chunks: chunksOf(['start\n'], seq++, 0) }));
              let state: 'PASSED' | 'CANCELLED' = 'PASSED';
              for (let k = 0; k < 5; k++) {
                const r = await guard(s.renew(claim.lease, 40));
                if ((r as { cancelRequested: boolean }).cancelRequested) {
                  state = 'CANCELLED';
                  break;
                }
                await guard(s.report(claim.lease, { stages: [{ ordinal: 0, name: 'run', kind: 'user', state: 'RUNNING', messages: [`k${k}`] }], chunks: chunksOf([`line ${k}\n`], seq++, 0) }));
              }
              await guard(s.report(claim.lease, { stages: [{ ordinal: 0, name: 'run', kind: 'user', state }], chunks: chunksOf(['end\n'], seq++, 0), finish: { state, reason: null } }));
            } catch {
              // Lost the lease.
            }
            continue;
          }
          try {
            await guard(reportStages(s, claim.lease, [{ ordinal: 0, name: 'run', kind: 'user', state: 'RUNNING' }]));
            for (let k = 0; k < 5; k++) {
              await guard(reportChunks(s, claim.lease, chunksOf([`line ${k}\n`], seq++, 0)));
              const r = await guard(s.renew(claim.lease, 40));
              if ((r as { cancelRequested: boolean }).cancelRequested) {
                await guard(reportFinish(s, claim.lease, 'CANCELLED', null));
                break;
              }
              await guard(reportStage(s, claim.lease, { ordinal: 0, name: 'run', kind: 'user', state: 'RUNNING', messages: [`k${k}`] }));
            }
            await guard(reportFinish(s, claim.lease, 'PASSED', null));
          } catch {
            // Lost the lease: a real werker kills its stage and goes back to claiming.
          }
        }
      };
      const sweeper = async () => {
        while (!stop) {
          await guard(a.expireLeases(Date.now() + Math.floor(Math.random() * 60)));
          await new Promise((r) => setTimeout(r, 3));
        }
      };
      const canceller = async () => {
        for (const build of builds.slice(0, 3)) {
          await new Promise((r) => setTimeout(r, 15));
          await guard(b.requestCancel(build.id, 'stress'));
        }
      };
      const loops = [...Array.from({ length: 6 }, (_, i) => werkerLoop(i).catch(() => {})), sweeper().catch(() => {}), canceller()];
      // Run until every build is final (each has at most 2 losses before it fails).
      const deadline = Date.now() + 20_000;
      for (;;) {
        const rows = await Promise.all(builds.map((x) => a.getBuild(x.id)));
        if (rows.every((r) => r && ['PASSED', 'FAILED', 'CANCELLED'].includes(r.state))) break;
        if (Date.now() > deadline) throw new Error(`builds not final: ${rows.map((r) => r?.state).join(',')}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      stop = true;
      await Promise.all(loops);
      expect(unexpected).toEqual([]);
      const states: string[] = [];
      for (const build of builds) {
        const attempts = await a.getAttempts(build.id);
        expect(attempts.filter((x) => x.state === 'RUNNING')).toEqual([]);
        const row = (await a.getBuild(build.id))!;
        if (row.state === 'PASSED') expect(attempts[attempts.length - 1]!.state).toBe('PASSED');
        expect(attempts.filter((x) => x.state === 'PASSED').length).toBeLessThanOrEqual(1);
        states.push(`${row.state}:${attempts.map((x) => x.state).join('/')}`);
      }
      if (process.env.OCELOT_TEST_VERBOSE) console.log(states.join(' '));
    });

    it('writes issued together stay independent: a refused one does not take the others down', async () => {
      const s = await open();
      const { build, claim } = await runningBuild(s);
      const results = await Promise.allSettled([
        reportChunks(s, claim.lease, chunksOf(['kept\n'])),
        reportChunks(s, { ...claim.lease, token: 'stale' }, chunksOf(['refused\n'], 1, 5)),
        s.createBuild(event()),
        reportStage(s, { ...claim.lease, attempt: 7 }, { ordinal: 0, name: 'x', kind: 'user', state: 'PASSED' }),
        s.recordDelivery('github', 'together', [{ event: event() }]),
      ]);
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'rejected', 'fulfilled']);
      expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(LeaseLostError);
      expect(dec(await s.readLogs(build.id, 1, 0))).toBe('kept\n');
      expect(await s.getStages(build.id)).toEqual([]);
      expect(await s.listBuilds({ limit: 10 })).toHaveLength(3);
    });

    it('follows a repository to its new clone URL', async () => {
      const s = await open();
      await s.createBuild(event({ cloneUrl: 'https://old.example/acme/app.git' }));
      await s.createBuild(event({ cloneUrl: 'https://new.example/acme/app.git' }));
      expect((await s.findRepo('acme/app'))?.cloneUrl).toBe('https://new.example/acme/app.git');
    });

    it('werker tokens and the werker directory', async () => {
      const s = await open();
      const t = await s.createWerkerToken('mac-mini');
      expect(t.token).toMatch(/^ocw_/);
      expect(await s.checkWerkerToken(t.token)).toBe(true);
      expect(await s.checkWerkerToken('ocw_nope')).toBe(false);
      await expect(s.createWerkerToken('mac-mini')).rejects.toThrow(/exists already/);
      const revoked = await s.revokeWerkerToken('mac-mini');
      expect(revoked.map((r) => r.id)).toEqual([t.id]);
      expect(await s.checkWerkerToken(t.token)).toBe(false);
      expect((await s.listWerkerTokens())[0]!.revokedAt).not.toBeNull();

      const { build, claim, werker: w } = await runningBuild(s);
      const listed = (await s.listWerkers()).find((x) => x.id === w.id)!;
      expect(listed).toMatchObject({ name: w.name, tags: [], runtimes: ['host'], running: [build.id] });
      expect(await s.attemptOutcome(claim.lease)).toBe('RUNNING');
      await reportFinish(s, claim.lease, 'PASSED', null);
      expect(await s.attemptOutcome(claim.lease)).toBe('PASSED');
      expect(await s.attemptOutcome({ ...claim.lease, token: 'other' })).toBeNull();
    });

    it('a revoked werker token is refused at once where it was revoked, and within a second by another replica', async () => {
      const here = await open();
      const other = await open();
      const t = await here.createWerkerToken('replicated');
      expect(await here.checkWerkerToken(t.token)).toBe(true);
      expect(await other.checkWerkerToken(t.token)).toBe(true); // now remembered there for a second
      await here.revokeWerkerToken('replicated');
      expect(await here.checkWerkerToken(t.token)).toBe(false);
      await new Promise((r) => setTimeout(r, 1_100));
      expect(await other.checkWerkerToken(t.token)).toBe(false);
    });

    it('a werker id belongs to the token that registered it first: another live token is refused, registering or claiming', async () => {
      const s = await open();
      const a = hashWerkerToken((await s.createWerkerToken('box-a')).token);
      const b = hashWerkerToken((await s.createWerkerToken('box-b')).token);
      const w = werker('owned', ['x']);
      await s.registerWerker(w, 'online', a);
      await s.registerWerker({ ...w, slots: 3 }, 'online', a); // the heartbeat, or a restart with the same token
      const taken = /^werker id owned is registered with another token/;
      // Another token can neither sign it off nor rename it: nothing is written.
      await expect(s.registerWerker({ ...w, name: 'impostor' }, 'offline', b)).rejects.toThrow(taken);
      await expect(s.registerWerker(w, 'online', b)).rejects.toBeInstanceOf(WerkerIdTakenError);
      await expect(s.registerWerker(w, 'online', ADMIN_OWNER)).rejects.toBeInstanceOf(WerkerIdTakenError);
      expect((await s.listWerkers()).find((x) => x.id === 'owned')).toMatchObject({ name: 'owned-name', status: 'online', slots: 3 });

      // Nor claim under its id: the build stays queued, untouched.
      const build = await s.createBuild(event());
      await expect(s.claimNext(w, 60_000, b)).rejects.toThrow(taken);
      expect(await s.getBuild(build.id)).toMatchObject({ state: 'QUEUED', attempt: 0, werkerId: null });
      expect(await s.getAttempts(build.id)).toEqual([]);
      // The owner claims as ever; so does anyone under an id nobody registered, and unchecked callers.
      expect((await s.claimNext(w, 60_000, a))?.buildId).toBe(build.id);
      expect(await s.claimNext(werker('nobody-registered-this'), 60_000, b)).toBeNull();
      expect(await s.claimNext(w, 60_000, a)).toBeNull();
      expect(await s.claimNext(w, 60_000)).toBeNull();

      // The owner's token revoked: the id is free, and the next token takes it over.
      await s.revokeWerkerToken('box-a');
      await s.registerWerker({ ...w, name: 'successor' }, 'online', b);
      await expect(s.registerWerker(w, 'online', a)).rejects.toBeInstanceOf(WerkerIdTakenError);
      expect((await s.listWerkers()).find((x) => x.id === 'owned')?.name).toBe('successor');

      // The admin's ids and `ocelot up`'s own werker are theirs for good (neither can be revoked).
      await s.registerWerker(werker('by-admin'), 'online', ADMIN_OWNER);
      await s.registerWerker(werker('up-werker'), 'online', LOCAL_OWNER);
      await expect(s.registerWerker(werker('by-admin'), 'offline', b)).rejects.toBeInstanceOf(WerkerIdTakenError);
      await expect(s.registerWerker(werker('up-werker'), 'offline', b)).rejects.toBeInstanceOf(WerkerIdTakenError);
      await expect(s.claimNext(werker('up-werker'), 60_000, b)).rejects.toBeInstanceOf(WerkerIdTakenError);
      await s.registerWerker(werker('up-werker'), 'online', LOCAL_OWNER);

      // An id registered without an owner (before owners were kept) goes to the first token that registers it.
      await s.registerWerker(werker('legacy'));
      await s.registerWerker(werker('legacy'), 'online', b);
      await expect(s.registerWerker(werker('legacy'), 'online', ADMIN_OWNER)).rejects.toBeInstanceOf(WerkerIdTakenError);
    });

    it('two tokens racing to register one new werker id: exactly one gets it', async () => {
      const s = await open();
      const other = await open();
      const owners = await Promise.all(['race-a', 'race-b', 'race-c', 'race-d'].map(async (n) => hashWerkerToken((await s.createWerkerToken(n)).token)));
      const results = await Promise.allSettled(owners.map((o, i) => (i % 2 ? other : s).registerWerker(werker('contested'), 'online', o)));
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(WerkerIdTakenError);
      const winner = owners[results.findIndex((r) => r.status === 'fulfilled')]!;
      await s.registerWerker(werker('contested'), 'online', winner);
    });

    it('upgrading a database from before werker owners: registered werkers are kept, unowned, and taken by their next registration', async () => {
      const url = await h.unmigratedUrl();
      const d = await openDialect(url);
      try {
        const db = d.db as unknown as Kysely<any>;
        const { error } = await new Migrator({ db, provider: migrationProvider(d.kind) }).migrateTo('0001_initial');
        expect(error).toBeUndefined();
        await db
          .insertInto('werkers')
          .values({ id: 'old', name: 'old-box', tags: '[]', runtimes: '["host"]', slots: 2, version: '0.9', status: 'online', started_at: 1, last_seen_at: 2 })
          .execute();
      } finally {
        await d.close();
      }
      const s = await createStore({ url });
      opened.push(s);
      expect((await s.listWerkers()).map((w) => [w.id, w.name, w.slots])).toEqual([['old', 'old-box', 2]]);
      const t = hashWerkerToken((await s.createWerkerToken('upgraded')).token);
      await s.registerWerker(werker('old'), 'online', t);
      await expect(s.registerWerker(werker('old'), 'online', ADMIN_OWNER)).rejects.toBeInstanceOf(WerkerIdTakenError);
    });

    it('gives the previous successful commit of the same branch', async () => {
      const s = await open();
      const ok = await runningBuild(s);
      await reportFinish(s, ok.claim.lease, 'PASSED', null);
      const bad = await runningBuild(s);
      await reportFinish(s, bad.claim.lease, 'FAILED', 'stage test failed');
      await s.createBuild(event({ branch: 'other' }));
      const other = (await s.claimNext(werker('x'), 30_000))!;
      expect(other.previousSuccessfulCommit).toBeNull();
      const next = await runningBuild(s);
      expect(next.claim.previousSuccessfulCommit).toBe(ok.build.commit);
    });

    it('fences writes: a requeued or expired lease cannot write', async () => {
      const s = await open();
      const { build, claim } = await runningBuild(s, 60_000);
      await reportStages(s, claim.lease, [{ ordinal: 0, name: 'clone', kind: 'system', state: 'RUNNING' }]);
      const expired = await s.expireLeases(Date.now() + 120_000);
      expect(expired).toEqual([{ buildId: build.id, attempt: 1, action: 'requeued' }]);

      const lease = claim.lease;
      await expect(s.renew(lease, 1000)).rejects.toBeInstanceOf(LeaseLostError);
      await expect(reportStages(s, lease, [{ ordinal: 0, name: 'clone', kind: 'system', state: 'RUNNING' }])).rejects.toBeInstanceOf(LeaseLostError);
      await expect(reportStage(s, lease, { ordinal: 0, name: 'clone', kind: 'system', state: 'PASSED' })).rejects.toBeInstanceOf(LeaseLostError);
      await expect(reportChunks(s, lease, chunksOf(['late']))).rejects.toBeInstanceOf(LeaseLostError);
      await expect(reportFinish(s, lease, 'PASSED', null)).rejects.toBeInstanceOf(LeaseLostError);
      await expect(s.handBack(lease, [], 'x')).rejects.toBeInstanceOf(LeaseLostError);

      const again = (await s.claimNext(werker('w2'), 60_000))!;
      expect(again.lease.attempt).toBe(2);
      // The old lease stays dead even though the build is RUNNING again.
      await expect(s.renew(lease, 1000)).rejects.toBeInstanceOf(LeaseLostError);
      await expect(reportChunks(s, { ...again.lease, token: 'forged' }, chunksOf(['x']))).rejects.toBeInstanceOf(LeaseLostError);
      await s.renew(again.lease, 60_000);
      await reportFinish(s, again.lease, 'PASSED', null);
      await expect(s.renew(again.lease, 1000)).rejects.toBeInstanceOf(LeaseLostError);
      expect((await s.readLogs(build.id, 1, 0)).length).toBe(0);

      // Expired but not yet swept: refused all the same.
      const short = await runningBuild(s, 1);
      await new Promise((r) => setTimeout(r, 10));
      await expect(s.renew(short.claim.lease, 60_000)).rejects.toThrow(/expired/);
    });

    it('renew extends the lease and reports a cancel request', async () => {
      const s = await open();
      const { build, claim } = await runningBuild(s, 60_000);
      const r1 = await s.renew(claim.lease, 60_000);
      expect(r1.cancelRequested).toBe(false);
      expect(r1.leaseExpiresAt).toBeGreaterThan(Date.now() + 50_000);
      expect(await s.expireLeases(Date.now() + 30_000)).toEqual([]);

      const after = await s.requestCancel(build.id, 'killed by bob');
      expect(after).toMatchObject({ state: 'RUNNING', cancelRequested: true });
      expect((await s.renew(claim.lease, 60_000)).cancelRequested).toBe(true);
      await reportFinish(s, claim.lease, 'CANCELLED', null);
      const done = (await s.getBuild(build.id))!;
      expect(done).toMatchObject({ state: 'CANCELLED', reason: 'killed by bob' });
      expect(done.finishedAt).not.toBeNull();
      expect((await s.getAttempts(build.id))[0]!.state).toBe('CANCELLED');
    });

    it('hand-back re-queues without spending the attempt budget', async () => {
      const s = await open({ logsDir: path.join(tmp, 'logs') });
      const b = await s.createBuild(event());
      const w = werker('hb');
      const c = (await s.claimNext(w, 30_000))!;
      await reportStages(s, c.lease, [{ ordinal: 0, name: 'clone', kind: 'system', state: 'PASSED' }]);
      await reportChunks(s, c.lease, chunksOf(['cloning\n']));
      await s.handBack(c.lease, ['tag:gpu'], 'werker hb has no tag gpu');

      const row = (await s.getBuild(b.id))!;
      expect(row).toMatchObject({ state: 'QUEUED', attempt: 0, requires: ['tag:gpu'], werkerId: null, startedAt: null });
      expect(await s.getAttempts(b.id)).toMatchObject([{ attempt: 1, state: 'HANDED_BACK', reason: 'werker hb has no tag gpu' }]);
      expect(await s.readLogs(b.id, 1, 0)).toEqual([]);
      expect(await s.getStages(b.id, 1)).toEqual([]);

      const gpu = werker('gpu', ['gpu']);
      await s.registerWerker(gpu);
      const c2 = (await s.claimNext(gpu, 60_000))!;
      expect(c2.lease.attempt).toBe(1);
      await reportChunks(s, c2.lease, chunksOf(['fresh\n']));
      expect(dec(await s.readLogs(b.id, 1, 0))).toBe('fresh\n');
      // Losing the werker now is attempt 1 of 2: there is still a retry.
      expect(await s.expireLeases(Date.now() + 120_000)).toEqual([{ buildId: b.id, attempt: 1, action: 'requeued' }]);
      expect((await s.getAttempts(b.id)).map((a) => a.state)).toEqual(['HANDED_BACK', 'LOST']);
    });

    it('hand-back keeps started_at set by an earlier attempt, and a cancelled build is not re-queued', async () => {
      const s = await open();
      const { build, claim } = await runningBuild(s, 60_000);
      const firstStart = (await s.getBuild(build.id))!.startedAt;
      await s.expireLeases(Date.now() + 120_000);
      const c2 = (await s.claimNext(werker('two'), 60_000))!;
      await s.handBack(c2.lease, ['tag:x'], 'no x');
      const row = (await s.getBuild(build.id))!;
      expect(row).toMatchObject({ state: 'QUEUED', attempt: 1, startedAt: firstStart });
      expect(claim.lease.attempt).toBe(1);

      const other = await runningBuild(s);
      await s.requestCancel(other.build.id, 'stop it');
      await s.handBack(other.claim.lease, [], 'draining');
      expect(await s.getBuild(other.build.id)).toMatchObject({ state: 'CANCELLED', reason: 'stop it' });
    });

    it('expired leases re-queue, then fail the build after max attempts with the reason', async () => {
      const s = await open();
      const b = await s.createBuild(event());
      const w1 = werker('w1');
      await s.registerWerker(w1);
      const claimedAt = Date.now();
      const c1 = (await s.claimNext(w1, 60_000))!;
      await reportStages(s, c1.lease, [
        { ordinal: 0, name: 'clone', kind: 'system', state: 'PASSED', startedAt: 1, finishedAt: 2 },
        { ordinal: 1, name: 'test', kind: 'user', state: 'RUNNING', startedAt: 3 },
        { ordinal: 2, name: 'deploy', kind: 'user', state: 'PENDING' },
      ]);
      const t1 = Date.now() + 120_000;
      expect(await s.expireLeases(t1, 60_000)).toEqual([{ buildId: b.id, attempt: 1, action: 'requeued' }]);
      const afterFirst = (await s.getBuild(b.id))!;
      expect(afterFirst).toMatchObject({ state: 'QUEUED', attempt: 1, werkerId: null });
      const stages = await s.getStages(b.id, 1);
      expect(stages.map((x) => [x.name, x.state, x.reason])).toEqual([
        ['clone', 'PASSED', null],
        ['test', 'FAILED', 'werker lost'],
        ['deploy', 'PENDING', null],
      ]);
      const [lost1] = await s.getAttempts(b.id);
      expect(lost1!.state).toBe('LOST');
      expect(lost1!.reason).toMatch(/^werker w1-name stopped renewing its lease at \d{4}-\d\d-\d\dT.* \(it expired at \d{4}-/);
      // The time given is the last renewal (here: the claim), not the expiry a lease length later.
      const stoppedAt = Date.parse(/renewing its lease at (\S+)/.exec(lost1!.reason!)![1]!);
      expect(Math.abs(stoppedAt - claimedAt)).toBeLessThan(5_000);

      const c2 = (await s.claimNext(werker('w2'), 60_000))!;
      expect(c2.lease.attempt).toBe(2);
      expect((await s.getBuild(b.id))!.startedAt).toBe(afterFirst.startedAt);
      expect(await s.expireLeases(Date.now() + 120_000)).toEqual([{ buildId: b.id, attempt: 2, action: 'failed' }]);
      const failed = (await s.getBuild(b.id))!;
      expect(failed.state).toBe('FAILED');
      expect(failed.reason).toMatch(/^lost its werker 2 times: werker w2 stopped renewing its lease at /);
      expect(failed.finishedAt).not.toBeNull();
      expect((await s.getAttempts(b.id)).map((a) => [a.attempt, a.state])).toEqual([
        [1, 'LOST'],
        [2, 'LOST'],
      ]);
      expect(await s.expireLeases(Date.now() + 600_000)).toEqual([]);
    });

    it('an expired build whose cancel was requested ends CANCELLED', async () => {
      const s = await open();
      const { build } = await runningBuild(s, 60_000);
      await s.requestCancel(build.id, 'kill');
      expect(await s.expireLeases(Date.now() + 120_000)).toEqual([{ buildId: build.id, attempt: 1, action: 'cancelled' }]);
      expect(await s.getBuild(build.id)).toMatchObject({ state: 'CANCELLED', reason: 'kill' });
    });

    it('cancel: queued ends now, running is flagged, final is unchanged', async () => {
      const s = await open();
      const q = await s.createBuild(event());
      const c = await s.requestCancel(q.id, 'not wanted');
      expect(c).toMatchObject({ state: 'CANCELLED', reason: 'not wanted' });
      expect(c!.finishedAt).not.toBeNull();
      expect(await s.claimNext(werker('w'), 1000)).toBeNull();

      const { build, claim } = await runningBuild(s);
      await reportFinish(s, claim.lease, 'PASSED', null);
      const final = await s.requestCancel(build.id, 'too late');
      expect(final).toMatchObject({ state: 'PASSED', reason: null, cancelRequested: false });
      expect(await s.requestCancel(424242, 'x')).toBeNull();
    });

    it('finish accepts every final state a werker can reach, including SKIPPED and FAILED_PRESTART', async () => {
      const s = await open();
      for (const state of ['PASSED', 'FAILED', 'SKIPPED', 'FAILED_PRESTART'] as const) {
        const { build, claim } = await runningBuild(s);
        await reportFinish(s, claim.lease, state, state === 'PASSED' ? null : `because ${state}`);
        const row = (await s.getBuild(build.id))!;
        expect(row.state).toBe(state);
        expect(row.finishedAt).not.toBeNull();
        expect((await s.getAttempts(build.id))[0]).toMatchObject({ state, reason: state === 'PASSED' ? null : `because ${state}` });
        await expect(reportFinish(s, claim.lease, 'PASSED', null)).rejects.toBeInstanceOf(LeaseLostError);
      }
    });

    it('stages: reported records upsert by ordinal (the last of one report wins), reads are ordered with durations', async () => {
      const s = await open();
      const { build, claim } = await runningBuild(s);
      await reportStages(s, claim.lease, [
        { ordinal: 1, name: 'build', kind: 'user', state: 'PENDING' },
        { ordinal: 0, name: 'clone', kind: 'system', state: 'PENDING' },
        { ordinal: 0, name: 'clone', kind: 'system', state: 'RUNNING', startedAt: 1000 },
      ]);
      expect((await s.getStages(build.id)).map((st) => `${st.ordinal}:${st.state}`)).toEqual(['0:RUNNING', '1:PENDING']);
      await reportStage(s, claim.lease, { ordinal: 0, name: 'clone', kind: 'system', state: 'PASSED', startedAt: 1000, finishedAt: 1250, exitCode: 0 });
      await reportStage(s, claim.lease, {
        ordinal: 1,
        name: 'build',
        kind: 'user',
        state: 'FAILED',
        startedAt: 2000,
        finishedAt: 2600,
        exitCode: 2,
        reason: 'exit code 2',
        messages: ['make: *** [all] Error 2'],
      });
      await reportStage(s, claim.lease, { ordinal: 5, name: 'extra', kind: 'user', state: 'SKIPPED', reason: 'trigger did not match' });
      const stages = await s.getStages(build.id);
      expect(stages).toEqual([
        { buildId: build.id, attempt: 1, ordinal: 0, name: 'clone', kind: 'system', state: 'PASSED', exitCode: 0, startedAt: 1000, finishedAt: 1250, durationMs: 250, reason: null, messages: [] },
        { buildId: build.id, attempt: 1, ordinal: 1, name: 'build', kind: 'user', state: 'FAILED', exitCode: 2, startedAt: 2000, finishedAt: 2600, durationMs: 600, reason: 'exit code 2', messages: ['make: *** [all] Error 2'] },
        { buildId: build.id, attempt: 1, ordinal: 5, name: 'extra', kind: 'user', state: 'SKIPPED', exitCode: null, startedAt: null, finishedAt: null, durationMs: null, reason: 'trigger did not match', messages: [] },
      ]);
      expect(await s.getStages(build.id, 2)).toEqual([]);
      expect(await s.getStages(31337)).toEqual([]);
    });

    it('report: stages, chunks and the result land together in one fenced write, and repeat safely', async () => {
      const s = await open();
      const { build, claim } = await runningBuild(s);
      const [c0, c1, c2] = chunksOf(['clone\n', 'build\n', 'done\n']);
      let woken = 0;
      const off = s.onBuildActivity(build.id, () => woken++);
      await s.report(claim.lease, {
        stages: [
          { ordinal: 0, name: 'clone', kind: 'system', state: 'RUNNING', startedAt: 1000 },
          { ordinal: 1, name: 'build', kind: 'user', state: 'PENDING' },
        ],
        chunks: [c0!],
      });
      // The same ordinal twice in one report: the later record wins (one statement must not touch a row twice).
      await s.report(claim.lease, {
        stages: [
          { ordinal: 0, name: 'clone', kind: 'system', state: 'RUNNING', startedAt: 1000 },
          { ordinal: 0, name: 'clone', kind: 'system', state: 'PASSED', startedAt: 1000, finishedAt: 1100 },
          { ordinal: 1, name: 'build', kind: 'user', state: 'RUNNING', startedAt: 1100 },
        ],
        chunks: [c0!, c1!],
      });
      expect((await s.getStages(build.id)).map((r) => [r.name, r.state])).toEqual([
        ['clone', 'PASSED'],
        ['build', 'RUNNING'],
      ]);
      expect((await s.getBuild(build.id))!.state).toBe('RUNNING');
      await s.report(claim.lease, {
        stages: [{ ordinal: 1, name: 'build', kind: 'user', state: 'FAILED', startedAt: 1100, finishedAt: 1300, exitCode: 2, reason: 'exit code 2' }],
        chunks: [c2!],
        finish: { state: 'FAILED', reason: "stage 'build' failed: exit code 2" },
      });
      const row = (await s.getBuild(build.id))!;
      expect(row).toMatchObject({ state: 'FAILED', reason: "stage 'build' failed: exit code 2" });
      expect((await s.getAttempts(build.id))[0]).toMatchObject({ state: 'FAILED' });
      expect((await s.getStages(build.id))[1]).toMatchObject({ state: 'FAILED', exitCode: 2, durationMs: 200 });
      expect(dec(await s.readLogs(build.id, 1, 0))).toBe('clone\nbuild\ndone\n');
      // Once finished, the lease writes nothing more, and the failed write changes nothing.
      await expect(s.report(claim.lease, { chunks: [{ ...c2!, seq: 3 }] })).rejects.toBeInstanceOf(LeaseLostError);
      await expect(s.report(claim.lease, { finish: { state: 'PASSED', reason: null } })).rejects.toBeInstanceOf(LeaseLostError);
      expect((await s.readLogs(build.id, 1, 0)).map((c) => c.seq)).toEqual([0, 1, 2]);
      expect((await s.getBuild(build.id))!.state).toBe('FAILED');
      // An empty report is no write at all.
      await s.report(claim.lease, {});
      await new Promise((r) => setTimeout(r, 50));
      off();
      expect(woken).toBeGreaterThanOrEqual(1);
    });

    it('logs: idempotent on seq, read in order, stop at a gap', async () => {
      const s = await open();
      const { build, claim } = await runningBuild(s);
      const all = chunksOf(['one\n', 'two\n', 'three\n', 'four\n', 'five\n']);
      await reportChunks(s, claim.lease, [all[0]!, all[1]!]);
      await reportChunks(s, claim.lease, [all[1]!, all[0]!]); // resent
      await reportChunks(s, claim.lease, [all[3]!]); // ahead of a gap
      expect(dec(await s.readLogs(build.id, 1, 0))).toBe('one\ntwo\n');
      expect(await s.readLogs(build.id, 1, 2)).toEqual([]);
      await reportChunks(s, claim.lease, [all[2]!, all[4]!, all[2]!]);
      const read = await s.readLogs(build.id, 1, 0);
      expect(read.map((c) => c.seq)).toEqual([0, 1, 2, 3, 4]);
      expect(dec(read)).toBe('one\ntwo\nthree\nfour\nfive\n');
      expect(read[2]).toMatchObject({ seq: 2, stageOrdinal: 0, offset: 8 });
      expect(dec(await s.readLogs(build.id, 1, 3))).toBe('four\nfive\n');
      expect((await s.readLogs(build.id, 1, 1, 2)).map((c) => c.seq)).toEqual([1, 2]);
      // Resending with different bytes does not rewrite history.
      await reportChunks(s, claim.lease, [{ ...all[0]!, data: enc('XXX\n') }]);
      expect(dec(await s.readLogs(build.id, 1, 0, 1))).toBe('one\n');

      // Binary-safe, and many chunks in one call.
      const bytes = new Uint8Array(256).map((_, i) => i);
      const many: LogChunk[] = Array.from({ length: 450 }, (_, i) => ({ seq: 5 + i, stageOrdinal: 1, offset: 1000 + i * 256, data: bytes }));
      await reportChunks(s, claim.lease, many);
      const back = await s.readLogs(build.id, 1, 5, 1000);
      expect(back).toHaveLength(450);
      expect(Array.from(back[449]!.data)).toEqual(Array.from(bytes));
    });

    it('logs in file-backed mode: bytes live in the attempt file, spooled bytes are not written twice', async () => {
      const logsDir = path.join(tmp, 'logs');
      const s = await open({ logsDir });
      const { build, claim } = await runningBuild(s);
      const file = attemptLogPath(logsDir, build.id, 1);

      // The in-process werker has already spooled the first two chunks into the file.
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, 'alpha\nbeta\n');
      const before = statSync(file).mtimeMs;
      await reportChunks(s, claim.lease, chunksOf(['alpha\n', 'beta\n']));
      expect(readFileSync(file, 'utf8')).toBe('alpha\nbeta\n');
      expect(statSync(file).mtimeMs).toBe(before);

      // A remote-style chunk arrives with bytes the file does not hold yet: the store writes them.
      await reportChunks(s, claim.lease, chunksOf(['gamma\n'], 2, 11));
      expect(readFileSync(file, 'utf8')).toBe('alpha\nbeta\ngamma\n');
      const read = await s.readLogs(build.id, 1, 0);
      expect(read.map((c) => c.seq)).toEqual([0, 1, 2]);
      expect(dec(read)).toBe('alpha\nbeta\ngamma\n');
      expect(dec(await s.readLogs(build.id, 1, 1))).toBe('beta\ngamma\n');
      await reportChunks(s, claim.lease, chunksOf(['gamma\n'], 2, 11));
      expect(readFileSync(file, 'utf8')).toBe('alpha\nbeta\ngamma\n');

      // A reader of another instance (the file is the source) sees the same.
      const reader = await open({ logsDir });
      expect(dec(await reader.readLogs(build.id, 1, 0))).toBe('alpha\nbeta\ngamma\n');
      expect(existsSync(file)).toBe(true);
    });

    it('index-only chunks (embedded spool) index bytes already in the file and are refused when they are not', async () => {
      const logsDir = path.join(tmp, 'logs');
      const s = await open({ logsDir });
      const { build, claim } = await runningBuild(s);
      const file = attemptLogPath(logsDir, build.id, 1);
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, 'one\ntwo\n');
      const empty = new Uint8Array(0);
      await reportChunks(s, claim.lease, [
        { seq: 0, stageOrdinal: 0, offset: 0, data: empty, length: 4 },
        { seq: 1, stageOrdinal: 2, offset: 4, data: empty, length: 4 },
      ]);
      const read = await s.readLogs(build.id, 1, 0);
      expect(read.map((c) => [c.seq, c.stageOrdinal])).toEqual([[0, 0], [1, 2]]);
      expect(dec(read)).toBe('one\ntwo\n');
      // An index pointing past what the file holds would hand readers a hole: refused.
      await expect(reportChunks(s, claim.lease, [{ seq: 2, stageOrdinal: 2, offset: 8, data: empty, length: 10 }])).rejects.toThrow(/does not hold/);
      expect((await s.readLogs(build.id, 1, 0)).length).toBe(2);
    });

    it('lists builds by glob, account and hash prefix, newest first', async () => {
      const s = await open();
      const mk = (account: string, repo: string, commit?: string) =>
        s.createBuild(event({ account, repo, cloneUrl: `https://x/${account}/${repo}.git`, ...(commit ? { commit } : {}) }));
      const orchestra = await mk('acme', 'orchestra', 'abc1230000000000000000000000000000000000');
      const orchid = await mk('acme', 'orchid', 'abc4560000000000000000000000000000000000');
      await mk('acme', 'Orchard');
      await mk('acme', 'app');
      await mk('acme', 'or_x');
      await mk('acme', 'orzx');
      await mk('other', 'orchestra');
      const again = await mk('acme', 'orchestra', 'abc1230000000000000000000000000000000000');

      const names = (rows: Array<{ account: string; repo: string }>) => rows.map((r) => `${r.account}/${r.repo}`);
      expect(names(await s.listBuilds({ acctRepoGlob: 'acme/orch*' }))).toEqual(['acme/orchestra', 'acme/orchid', 'acme/orchestra']);
      expect(names(await s.listBuilds({ acctRepoGlob: 'acme/or_*' }))).toEqual(['acme/or_x']);
      expect(names(await s.listBuilds({ acctRepoGlob: '*/orchestra' }))).toEqual(['acme/orchestra', 'other/orchestra', 'acme/orchestra']);
      expect(names(await s.listBuilds({ acctRepoGlob: 'acme/orchid' }))).toEqual(['acme/orchid']);
      expect(await s.listBuilds({ acctRepoGlob: 'acme/%' })).toEqual([]);
      expect((await s.listBuilds({ account: 'acme' })).length).toBe(7);
      expect((await s.listBuilds({ account: 'acme', limit: 2 })).map((b) => b.id)).toEqual([again.id, again.id - 2]);
      expect((await s.listBuilds({})).length).toBe(8);
      expect((await s.listBuilds({ hashPrefix: 'ABC' })).map((b) => b.id)).toEqual([again.id, orchid.id, orchestra.id]);
      expect((await s.listBuilds({ hashPrefix: 'abc4' })).map((b) => b.id)).toEqual([orchid.id]);
      expect(await s.listBuilds({ hashPrefix: 'a%' })).toEqual([]);

      expect(await s.commitsByPrefix('abc')).toEqual([
        { commit: 'abc1230000000000000000000000000000000000', account: 'acme', repo: 'orchestra', forge: 'github' },
        { commit: 'abc4560000000000000000000000000000000000', account: 'acme', repo: 'orchid', forge: 'github' },
      ]);
      expect(await s.commitsByPrefix('abc', 1)).toHaveLength(1);
      expect(await s.commitsByPrefix('zz')).toEqual([]);
    });

    it('wake-ups: queued and build activity fire after commit, and unsubscribe works', async () => {
      const s = await open();
      let queued = 0;
      const off = s.onQueued(() => queued++);
      const claimedOnWake = new Promise<ClaimedBuild | null>((resolve) => {
        const stop = s.onQueued(() => {
          stop();
          // The build must already be visible to a claim made from inside the wake-up.
          resolve(s.claimNext(werker('waker'), 30_000));
        });
      });
      const b = await s.createBuild(event());
      const claim = (await claimedOnWake)!;
      expect(claim.buildId).toBe(b.id);
      await new Promise((r) => setTimeout(r, 50));
      expect(queued).toBeGreaterThanOrEqual(1);
      off();
      const seen = queued;
      await s.createBuild(event(), { state: 'SKIPPED', reason: 'skip' });
      await s.createBuild(event());
      await new Promise((r) => setTimeout(r, 100));
      expect(queued).toBe(seen);

      const lease = claim.lease;
      const activity = waitFor((wake) => s.onBuildActivity(b.id, wake));
      const otherBuild = s.onBuildActivity(b.id + 1000, () => {
        throw new Error('wrong build woken');
      });
      await reportChunks(s, lease, chunksOf(['hi\n']));
      await activity;
      otherBuild();
      const cancelWake = waitFor((wake) => s.onBuildActivity(b.id, wake));
      await s.requestCancel(b.id, 'bye');
      await cancelWake;
    });

    it('wake-ups reach another Store instance on the same database', async () => {
      const writer = await open();
      const listener = await open();
      const queued = waitFor((wake) => listener.onQueued(wake));
      const b = await writer.createBuild(event());
      await queued;
      const w = werker('cross');
      const c = (await writer.claimNext(w, 30_000))!;
      const activity = waitFor((wake) => listener.onBuildActivity(b.id, wake));
      await reportStage(writer, c.lease, { ordinal: 0, name: 'clone', kind: 'system', state: 'RUNNING' });
      await activity;
      const requeued = waitFor((wake) => listener.onQueued(wake));
      await writer.expireLeases(Date.now() + 120_000);
      await requeued;
      const finished = waitFor((wake) => listener.onBuildActivity(b.id, wake));
      const c2 = (await listener.claimNext(w, 30_000))!;
      await reportFinish(writer, c2.lease, 'PASSED', null);
      await finished;
    });

  });
}
