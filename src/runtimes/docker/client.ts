/**
 * A Docker Engine API client pinned to a version both sides speak. The engines on our machines answer API 1.41 at
 * most while the client library would otherwise assume a newer default; asking `/version` unversioned first and
 * pinning min(engine, ours) keeps every later call on a path the engine understands.
 */
import type Docker from 'dockerode';

/** Newest API version whose features this runtime uses (Init, PidsLimit, NanoCpus, exec WorkingDir). */
export const MAX_API_VERSION = '1.41';

export interface DockerConnectionOptions {
  /** Unix socket of the engine. Default: DOCKER_HOST when set, else /var/run/docker.sock. */
  socketPath?: string;
  /** Per-request inactivity timeout; leave unset for clients that carry long exec streams. */
  timeoutMs?: number;
}

function baseOptions(opts: DockerConnectionOptions): Docker.DockerOptions {
  const base: Docker.DockerOptions = {};
  if (opts.socketPath) base.socketPath = opts.socketPath;
  if (opts.timeoutMs !== undefined) base.timeout = opts.timeoutMs;
  // Without socketPath dockerode reads DOCKER_HOST itself (unix://, tcp://, ssh://).
  return base;
}

/** Numeric compare of "1.41"-style versions. */
export function compareApiVersions(a: string, b: string): number {
  const [amaj = 0, amin = 0] = a.split('.').map(Number);
  const [bmaj = 0, bmin = 0] = b.split('.').map(Number);
  return amaj !== bmaj ? amaj - bmaj : amin - bmin;
}

export interface NegotiatedClient {
  docker: Docker;
  apiVersion: string;
}

/** Connects, asks the engine for its API version and returns a client pinned to the version we will use. */
export async function connectDocker(opts: DockerConnectionOptions = {}): Promise<NegotiatedClient> {
  // Loaded on first use: an idle werker (health checks, empty sweeps) never needs the library.
  const { default: Docker } = await import('dockerode');
  const probe = new Docker(baseOptions(opts));
  const info = (await probe.version()) as { ApiVersion?: string };
  const engine = info.ApiVersion ?? MAX_API_VERSION;
  const apiVersion = compareApiVersions(engine, MAX_API_VERSION) < 0 ? engine : MAX_API_VERSION;
  const docker = new Docker({ ...baseOptions(opts), version: `v${apiVersion}` });
  return { docker, apiVersion };
}

/** Where the engine socket lives on this host, for bind-mounting it into a build (only when allowed). */
export function hostSocketPath(opts: DockerConnectionOptions): string | undefined {
  if (opts.socketPath) return opts.socketPath;
  const host = process.env.DOCKER_HOST;
  if (!host) return '/var/run/docker.sock';
  if (host.startsWith('unix://')) return host.slice('unix://'.length) || '/var/run/docker.sock';
  return undefined; // tcp:// or ssh:// engines have no socket on this host to mount
}
