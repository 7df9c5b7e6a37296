/**
 * `createStore(config)`: open the database named by the URL, bring its schema up to date, and assemble the
 * Store from the aggregate modules. This file only wires; the behaviour lives in builds, deliveries, queue,
 * stages, logs, report and werkers.
 */
import type { Store, StoreConfig } from './store.js';
import { openDialect } from './dialect.js';
import { migrateToLatest } from './migrations.js';
import { commitsByPrefix, createBuild, findRepo, getBuild, listBuilds } from './builds.js';
import { recordDelivery } from './deliveries.js';
import { claimNext, expireLeases, getAttempts, handBack, renew, requestCancel } from './queue.js';
import { getStages } from './stages.js';
import { discardLogFile, readLogs } from './logs.js';
import { registerWerker } from './werkers.js';
import { report } from './report.js';
import { claimNextPostgres, reportPostgres } from './postgres-fast-paths.js';
import { TokenCheckCache, checkWerkerToken, createWerkerToken, listWerkerTokens, revokeWerkerToken } from './werker-tokens.js';
import { attemptOutcome, listWerkers, werkerNames } from './werker-directory.js';

export async function createStore(config: StoreConfig): Promise<Store> {
  const d = await openDialect(config.url);
  const { db } = d;
  const logsDir = config.logsDir;
  try {
    if (config.migrate !== false) await migrateToLatest(db, d.kind);
  } catch (err) {
    await d.close();
    throw err;
  }

  let closed: Promise<void> | null = null;
  const liveTokens = new TokenCheckCache();
  return {
    migrate: () => migrateToLatest(db, d.kind),
    close: () => (closed ??= d.close()),

    recordDelivery: (forge, deliveryId, builds, ignoredReason) => recordDelivery(d, forge, deliveryId, builds, ignoredReason),
    createBuild: (event, options) => createBuild(d, event, options),
    findRepo: (acctRepo) => findRepo(db, acctRepo),

    getBuild: (id) => getBuild(db, id),
    listBuilds: (filter) => listBuilds(db, filter),
    commitsByPrefix: (prefix, limit) => commitsByPrefix(db, prefix, limit),
    getStages: (buildId, attempt) => getStages(db, buildId, attempt),
    getAttempts: (buildId) => getAttempts(db, buildId),
    readLogs: (buildId, attempt, fromSeq, limit) => readLogs(db, d.toBytes, logsDir, buildId, attempt, fromSeq, limit),

    requestCancel: (buildId, reason) => requestCancel(d, buildId, reason),
    expireLeases: (now, leaseMs) => expireLeases(d, now, leaseMs),

    registerWerker: (werker, status, owner) => registerWerker(d, werker, status, owner),
    // PostgreSQL: the claim and the report are single statements (postgres-fast-paths.ts); same behaviour, one round trip.
    claimNext: (werker, leaseMs, owner) =>
      d.kind === 'postgres' ? claimNextPostgres(d, werker, leaseMs, owner) : claimNext(d, werker, leaseMs, owner),
    renew: (lease, leaseMs) => renew(d, lease, leaseMs),
    handBack: (lease, requires, reason) =>
      handBack(d, lease, requires, reason, (buildId, attempt) => discardLogFile(logsDir, buildId, attempt)),
    report: (lease, r) => (d.kind === 'postgres' && !logsDir ? reportPostgres(d, lease, r) : report(d, logsDir, lease, r)),

    createWerkerToken: (name) => createWerkerToken(d, name),
    listWerkerTokens: () => listWerkerTokens(db),
    revokeWerkerToken: async (idOrName) => {
      const revoked = await revokeWerkerToken(d, idOrName);
      liveTokens.clear();
      return revoked;
    },
    checkWerkerToken: (token) => checkWerkerToken(db, token, liveTokens),
    listWerkers: () => listWerkers(db),
    werkerNames: (ids) => werkerNames(db, ids),
    attemptOutcome: (lease) => attemptOutcome(db, lease),

    onQueued: (listener) => d.onQueued(listener),
    onBuildActivity: (buildId, listener) => d.onBuildActivity(buildId, listener),
  };
}
