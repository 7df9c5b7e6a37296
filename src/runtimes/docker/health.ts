/**
 * A cheap, bounded check that the engine answers. The werker polls it to stop claiming docker builds while the
 * engine is down (rather than failing them one by one) and to resume when it is back.
 */
import { engineMessage } from './errors.js';
import { engineGetJson, engineTarget } from './engine-http.js';

export type DockerHealth = { ok: true; apiVersion: string } | { ok: false; reason: string };

export interface ProbeOptions {
  socketPath?: string;
  /** Whole-probe deadline; default 3000 ms. */
  timeoutMs?: number;
}

export async function probeDocker(opts: ProbeOptions = {}): Promise<DockerHealth> {
  const timeoutMs = opts.timeoutMs ?? 3000;
  // Unversioned /version works on every engine and tells us what it speaks.
  const target = engineTarget(opts.socketPath);
  if (target) {
    try {
      const v = await engineGetJson<{ ApiVersion?: string }>(target, '/version', timeoutMs);
      return { ok: true, apiVersion: v.ApiVersion ?? 'unknown' };
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      return { ok: false, reason: /did not answer within/.test(message) ? message : `Docker engine not reachable: ${engineMessage(err)}` };
    }
  }
  // ssh:// or TLS engines: through the library.
  const { default: Docker } = await import('dockerode');
  const docker = new Docker({ ...(opts.socketPath ? { socketPath: opts.socketPath } : {}), timeout: timeoutMs });
  const ac = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<DockerHealth>((resolve) => {
    timer = setTimeout(() => {
      ac.abort();
      resolve({ ok: false, reason: `Docker engine did not answer within ${timeoutMs} ms` });
    }, timeoutMs);
  });
  const probe = (async (): Promise<DockerHealth> => {
    try {
      // The typings omit version()'s options argument, which the library does accept (abortSignal).
      const version = docker.version as unknown as (o: { abortSignal: AbortSignal }) => Promise<{ ApiVersion?: string }>;
      const v = await version.call(docker, { abortSignal: ac.signal });
      return { ok: true, apiVersion: v.ApiVersion ?? 'unknown' };
    } catch (err) {
      return { ok: false, reason: `Docker engine not reachable: ${engineMessage(err)}` };
    }
  })();
  try {
    return await Promise.race([probe, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
