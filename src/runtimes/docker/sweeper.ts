/**
 * Removes containers this werker created for builds that are no longer running: leftovers of a werker killed
 * with SIGKILL, of a crash between build end and cleanup, or of a lost lease. Containers the user asked to keep
 * (label ocelot.keep=true) stay. The labels are the only state used, so this works right after a restart.
 */
import type Docker from 'dockerode';
import { connectDocker } from './client.js';
import { engineMessage, engineStatus } from './errors.js';
import { engineGetJson, engineTarget } from './engine-http.js';
import { LABEL_ATTEMPT, LABEL_BUILD, LABEL_KEEP, LABEL_MANAGED, LABEL_WERKER } from './labels.js';

export interface SweepOptions {
  werkerId: string;
  isBuildRunning(buildId: number, attempt: number): boolean | Promise<boolean>;
  socketPath?: string;
  /** An already connected client (the werker's), to skip version negotiation. */
  docker?: Docker;
}

export interface SweepResult {
  /** Ids of the containers removed. */
  removed: string[];
  /** Ids left because of ocelot.keep=true. */
  kept: string[];
  /** Containers that could not be removed, with the engine's reason. */
  failed: Array<{ id: string; reason: string }>;
}

export async function sweepOrphans(opts: SweepOptions): Promise<SweepResult> {
  const filters = { label: [`${LABEL_MANAGED}=true`, `${LABEL_WERKER}=${opts.werkerId}`] };
  // Listing goes over plain HTTP when it can: most sweeps find nothing, and then the client library (and its
  // memory) is never loaded. Removing needs the library.
  const target = opts.docker ? null : engineTarget(opts.socketPath);
  let containers: Array<{ Id: string; Labels?: Record<string, string> }>;
  let docker = opts.docker;
  if (target) {
    containers = await engineGetJson(target, `/containers/json?all=1&filters=${encodeURIComponent(JSON.stringify(filters))}`, 10_000);
  } else {
    docker ??= (await connectDocker(opts.socketPath ? { socketPath: opts.socketPath } : {})).docker;
    containers = await docker.listContainers({ all: true, filters });
  }
  const result: SweepResult = { removed: [], kept: [], failed: [] };
  for (const c of containers) {
    const labels = c.Labels ?? {};
    if (labels[LABEL_KEEP] === 'true') {
      result.kept.push(c.Id);
      continue;
    }
    const buildId = Number(labels[LABEL_BUILD]);
    const attempt = Number(labels[LABEL_ATTEMPT]);
    // A container with unreadable labels cannot belong to a running build of ours: it goes.
    const running =
      Number.isFinite(buildId) && Number.isFinite(attempt) ? await opts.isBuildRunning(buildId, attempt) : false;
    if (running) continue;
    try {
      docker ??= (await connectDocker(opts.socketPath ? { socketPath: opts.socketPath } : {})).docker;
      await docker.getContainer(c.Id).remove({ force: true, v: true });
      result.removed.push(c.Id);
    } catch (err) {
      const status = engineStatus(err);
      if (status === 404 || status === 409) result.removed.push(c.Id);
      else result.failed.push({ id: c.Id, reason: engineMessage(err) });
    }
  }
  return result;
}
