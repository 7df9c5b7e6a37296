/**
 * `ocelot werker`: a werker on its own machine, talking to the server only over the HTTP werker protocol. The
 * same Werker as `ocelot up`'s, with the HTTP client, and hand-back (not fail) for builds it cannot run, since
 * another werker may have the tag or runtime this one lacks.
 *
 * Everything it keeps is under the work dir and disposable: workspaces, and log spools
 * (`<work-dir>/spool/<build>/<attempt>.log`) that hold a build's output until the server has acknowledged it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HttpWerkerClient, shownServerUrl } from '../werker/http-client.js';
import { Werker, type RuntimeProvider } from '../werker/werker.js';
import { hostProvider } from './host-provider.js';
import { VERSION } from '../version.js';
import type { DockerProvider } from './docker-provider.js';
import type { DockerSettings } from './docker-settings.js';
import { stableWerkerId } from './werker-id.js';
import { spoolMaxBytesFromEnv } from './env-settings.js';
import { lockDataDir, type DataDirLock } from './data-dir-lock.js';

export interface RemoteWerkerOptions {
  server: string;
  token: string;
  name?: string;
  tags: string[];
  slots: number;
  workDir: string;
  /** Run pipelines without `image` on this machine's shell. */
  allowHost: boolean;
  /** Use Docker for pipelines with `image` when an engine answers. */
  docker: boolean;
  keepContainers: boolean;
  /** Operator's docker settings (pull policy, ceilings, socket); defaults when absent. */
  dockerSettings?: DockerSettings;
  drainMs: number;
  /** Keep a local cache of the repositories built (git-cache.ts); default on. */
  gitCache?: boolean;
  /** The server refused the token (revoked): the werker has stopped claiming; the caller stops it and exits. */
  onFatal?: (err: Error) => void;
}

export interface RunningWerker {
  werker: Werker;
  stop(): Promise<void>;
  /** During stop(): end the drain now, handing running builds back. */
  hurry(): void;
}

export async function startRemoteWerker(opts: RemoteWerkerOptions, log: (msg: string) => void = console.log): Promise<RunningWerker> {
  const root = path.resolve(opts.workDir);
  const workspaces = path.join(root, 'workspaces');
  const spool = path.join(root, 'spool');
  // One werker per work dir, taken before anything in it is touched: what follows wipes workspaces and spools and
  // kills stages marked with this directory's werker id, which would be a running werker's if two shared it.
  fs.mkdirSync(root, { recursive: true });
  const lock = lockDataDir(root, { command: 'ocelot werker', flag: '--work-dir' });
  try {
    return await startIn(root, workspaces, spool, opts, log, lock);
  } catch (err) {
    lock.release();
    throw err;
  }
}

async function startIn(
  root: string,
  workspaces: string,
  spool: string,
  opts: RemoteWerkerOptions,
  log: (msg: string) => void,
  lock: DataDirLock,
): Promise<RunningWerker> {
  // Leftovers of an earlier run: their builds were lost with it and are recovered by the server.
  fs.rmSync(workspaces, { recursive: true, force: true });
  fs.rmSync(spool, { recursive: true, force: true });
  fs.mkdirSync(workspaces, { recursive: true });
  fs.mkdirSync(spool, { recursive: true });

  const id = stableWerkerId(root, 'werker');
  const name = opts.name ?? os.hostname();
  let werker: Werker | undefined;
  const runtimes: Record<string, RuntimeProvider> = {};
  if (opts.allowHost) runtimes.host = hostProvider(id, log);
  let docker: DockerProvider | undefined;
  if (opts.docker) {
    // Loaded only when asked for: the Docker client and its dependencies are most of an idle werker's memory.
    const { dockerProvider } = await import('./docker-provider.js');
    docker = await dockerProvider({
      werkerId: id,
      keepContainers: opts.keepContainers,
      ...(opts.dockerSettings ?? {}),
      isRunning: (buildId, attempt) => werker?.isRunning(buildId, attempt) ?? false,
      log,
    });
    runtimes.docker = docker;
  }

  const theWerker = new Werker({
    id,
    name,
    client: new HttpWerkerClient({ server: opts.server, token: opts.token, log }),
    tags: opts.tags,
    slots: opts.slots,
    version: VERSION,
    runtimes,
    whenUnsupported: 'hand-back',
    // Flat (no directory per build): one file to create and one to remove per attempt.
    spoolPath: (build, attempt) => path.join(spool, `${build}-${attempt}.log`),
    workDir: workspaces,
    gitCacheDir: opts.gitCache === false ? undefined : path.join(root, 'git-cache'),
    onFatal: opts.onFatal,
    spoolMaxUnackedBytes: spoolMaxBytesFromEnv(),
    afterBuild: async () => {
      // The server has every chunk of a finished build: its spool can go. Running builds keep theirs.
      const running = new Set((werker?.current() ?? []).map(String));
      for (const file of fs.readdirSync(spool)) if (!running.has(file.split('-')[0]!)) fs.rmSync(path.join(spool, file), { recursive: true, force: true });
      await docker?.sweep();
    },
    log,
  });
  werker = theWerker;
  await theWerker.start();
  const info = theWerker.info();
  log(
    `ocelot ${VERSION} werker ${name} (${id}) serving ${shownServerUrl(opts.server)}: ${opts.slots} slot(s), runtimes [${info.runtimes.join(', ')}]` +
      `${opts.tags.length ? `, tags [${opts.tags.join(', ')}]` : ''}, lease ${theWerker.leaseLengthMs} ms (the server's), work dir ${root}`,
  );

  let stopping: Promise<void> | undefined;
  return {
    werker: theWerker,
    stop: () => (stopping ??= theWerker.stop(opts.drainMs).finally(() => lock.release())),
    hurry: () => theWerker.handBackNow(),
  };
}
