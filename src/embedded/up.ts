/**
 * `ocelot up`: the embedded default. One process: HTTP server + in-process werker + SQLite in the data dir.
 *
 * Start-up order: open the store and migrate → recover builds whose lease expired while we were down → listen →
 * start the werker. Shutdown (SIGTERM/SIGINT): stop answering /healthz as ready, stop claiming, let running
 * builds finish up to the drain timeout then hand them back (they are re-queued and run on the next start),
 * close the server, close the store. Nothing is left RUNNING.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { serve } from './serve.js';
import { createStore } from '../store/index.js';
import type { Store } from '../store/store.js';
import { attemptLogPath } from '../store/log-files.js';
import { loadOrCreateSecrets, DEFAULTS } from '../config/config.js';
import { InProcessWerkerClient } from './in-process-client.js';
import { Werker, type RuntimeProvider } from '../werker/werker.js';
import { hostProvider } from './host-provider.js';
import { dockerProvider, type DockerProvider } from './docker-provider.js';
import type { DockerSettings } from './docker-settings.js';
import type { Runtime } from '../runtimes/runtime.js';
import { stableWerkerId } from './werker-id.js';
import { lockDataDir, type DataDirLock } from './data-dir-lock.js';
import { VERSION } from '../version.js';

export interface UpOptions {
  port: number;
  host: string;
  dataDir: string;
  slots: number;
  /** Names of werker tags (machineTag routing). */
  tags: string[];
  /** Allow pipelines without `image` to run on this machine's shell. */
  allowHost: boolean;
  /** Use Docker for pipelines with `image` when an engine answers. */
  docker: boolean;
  /** Run `image:` pipelines on the host when Docker is unavailable (explicit opt-in). */
  dockerFallbackToHost: boolean;
  keepContainers: boolean;
  /** Pull policy, container ceiling, socket permission and engine socket (defaults when absent). */
  dockerSettings?: DockerSettings;
  leaseMs: number;
  maxAttempts: number;
  drainMs: number;
  privateReads: boolean;
  quiet?: boolean;
  /** Keep a local cache of the repositories built (git-cache.ts); default on. */
  gitCache?: boolean;
  /** Start with the werker paused (benchmarks of intake alone). */
  pauseWerker?: boolean;
}

export interface RunningUp {
  app: FastifyInstance;
  store: Store;
  werker: Werker;
  url: string;
  webhookSecret: string;
  adminToken: string;
  stop(): Promise<void>;
}

export function defaultUpOptions(): UpOptions {
  return {
    port: DEFAULTS.port,
    host: DEFAULTS.host,
    dataDir: DEFAULTS.dataDir,
    slots: DEFAULTS.slots,
    tags: [],
    allowHost: true,
    docker: true,
    dockerFallbackToHost: false,
    keepContainers: false,
    leaseMs: DEFAULTS.leaseMs,
    maxAttempts: DEFAULTS.maxAttempts,
    drainMs: 10_000,
    privateReads: false,
  };
}

export async function startUp(opts: UpOptions, log: (msg: string) => void = console.log): Promise<RunningUp> {
  const dataDir = path.resolve(opts.dataDir);
  fs.mkdirSync(dataDir, { recursive: true });
  const lock = lockDataDir(dataDir);
  try {
    return await startLocked(opts, dataDir, lock, log);
  } catch (err) {
    lock.release();
    throw err;
  }
}

async function startLocked(opts: UpOptions, dataDir: string, lock: DataDirLock, log: (msg: string) => void): Promise<RunningUp> {
  const logsDir = path.join(dataDir, 'logs');
  const workDir = path.join(dataDir, 'workspaces');
  fs.rmSync(workDir, { recursive: true, force: true }); // leftovers of a crash; their builds are recovered below
  fs.mkdirSync(workDir, { recursive: true });
  const secrets = loadOrCreateSecrets(dataDir);

  // createStore brings the schema up to date.
  const store = await createStore({ url: `sqlite:${path.join(dataDir, 'ocelot.db')}`, logsDir });
  const recovered = await store.expireLeases(Number.MAX_SAFE_INTEGER, opts.leaseMs);
  for (const r of recovered) log(`recovered build ${r.buildId} (attempt ${r.attempt} was interrupted): ${r.action}`);

  let werker: Werker | undefined;
  const server = await serve({
    store,
    port: opts.port,
    host: opts.host,
    webhookSecret: secrets.webhookSecret,
    adminToken: secrets.adminToken,
    leaseMs: opts.leaseMs,
    maxAttempts: opts.maxAttempts,
    privateReads: opts.privateReads,
    log,
  });
  const { app, url } = server;

  // A stable werker id, so containers of a previous run of this data dir are recognized and swept.
  const werkerId = stableWerkerId(dataDir, 'embedded');
  const runtimes: Record<string, RuntimeProvider> = {};
  if (opts.allowHost) runtimes.host = hostProvider(werkerId, log);
  let docker: DockerProvider | undefined;
  if (opts.docker) {
    docker = await dockerProvider({
      werkerId,
      keepContainers: opts.keepContainers,
      ...(opts.dockerSettings ?? {}),
      isRunning: (buildId, attempt) => werker?.isRunning(buildId, attempt) ?? false,
      log,
    });
    runtimes.docker = docker;
  }
  if (opts.dockerFallbackToHost && runtimes.host) {
    // Explicit operator choice: image: pipelines run on this machine's shell when Docker does not answer.
    const host = runtimes.host;
    const dockerHealth = docker?.health;
    runtimes.docker = docker && dockerHealth
      ? { runtime: fallbackRuntime(docker.runtime, host.runtime, dockerHealth), health: undefined }
      : host;
  }

  const theWerker = new Werker({
    id: werkerId,
    client: new InProcessWerkerClient(store, opts.leaseMs),
    name: 'embedded',
    tags: opts.tags,
    slots: opts.slots,
    version: VERSION,
    runtimes,
    whenUnsupported: 'fail',
    spoolPath: (build, attempt) => attemptLogPath(logsDir, build, attempt),
    spoolIsServerLog: true,
    workDir,
    gitCacheDir: opts.gitCache === false ? undefined : path.join(dataDir, 'git-cache'),
    leaseMs: opts.leaseMs,
    afterBuild: docker ? () => docker.sweep() : undefined,
    log,
  });
  werker = theWerker;
  if (opts.pauseWerker) theWerker.pause(true);

  await theWerker.start();
  server.setReady(true);

  if (!opts.quiet) {
    log(`ocelot ${VERSION} up at ${url} (data in ${dataDir})`);
    log(`  webhooks:  ${url}/hooks/github   ${url}/hooks/bitbucket`);
    // A secret the operator gave us is never echoed (it would land in journald); a generated one is shown once
    // so it can be pasted into the forge, and is kept in the data dir.
    log(`  webhook secret: ${process.env.OCELOT_WEBHOOK_SECRET ? '(from OCELOT_WEBHOOK_SECRET)' : `${secrets.generated.webhookSecret ? 'generated, ' : ''}${secrets.webhookSecret} (kept in ${path.join(dataDir, 'webhook-secret')})`}`);
    log(`  admin token:    ${process.env.OCELOT_ADMIN_TOKEN ? '(from OCELOT_ADMIN_TOKEN)' : `${secrets.adminToken} (kept in ${path.join(dataDir, 'admin-token')})`}`);
    log(`  CLI: export OCELOT_SERVER=${url} OCELOT_TOKEN=<admin token>`);
    log(`  werker: ${opts.slots} slot(s), runtimes [${theWerker.info().runtimes.join(', ')}]${opts.tags.length ? `, tags [${opts.tags.join(', ')}]` : ''}`);
  }

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      server.setReady(false);
      await theWerker.stop(opts.drainMs);
      await server.close();
      await store.close();
      lock.release();
    })());
  return { app, store, werker: theWerker, url, webhookSecret: secrets.webhookSecret, adminToken: secrets.adminToken, stop };
}

/** Docker when the engine answers, else the host (only when the operator asked for that fallback). */
function fallbackRuntime(docker: Runtime, host: Runtime, health: () => Promise<{ ok: boolean }>): Runtime {
  return {
    name: 'docker',
    async prepare(job, output, signal) {
      if ((await health()).ok) return docker.prepare(job, output, signal);
      output.write('No Docker engine answers: running on the host, as configured (--docker-fallback-to-host).\n');
      return host.prepare(job, output, signal);
    },
  };
}
