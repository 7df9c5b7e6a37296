/**
 * Two read-only Engine API calls made without the client library: `GET /version` (health) and the labelled
 * container list (is there anything to sweep?). A werker makes them at start and on every heartbeat; doing them
 * over plain node:http means an idle werker never loads dockerode and its dependencies, which are the largest
 * part of its memory. Everything that changes the engine's state still goes through dockerode (client.ts).
 *
 * Only engines reached over a unix socket or plain tcp:// are handled here; for ssh:// or TLS engines `target`
 * returns null and callers use the library.
 */
import http from 'node:http';

export interface EngineTarget {
  socketPath?: string;
  host?: string;
  port?: number;
}

/** Where to send a request: an explicit socket, else DOCKER_HOST (unix:// or tcp:// without TLS), else the default. */
export function engineTarget(socketPath?: string, env: NodeJS.ProcessEnv = process.env): EngineTarget | null {
  if (socketPath) return { socketPath };
  const host = env.DOCKER_HOST;
  if (!host) return { socketPath: '/var/run/docker.sock' };
  if (host.startsWith('unix://')) return { socketPath: host.slice('unix://'.length) || '/var/run/docker.sock' };
  if (host.startsWith('tcp://') && !env.DOCKER_TLS_VERIFY && !env.DOCKER_CERT_PATH) {
    const u = new URL(host.replace(/^tcp:/, 'http:'));
    return { host: u.hostname, port: Number(u.port || 2375) };
  }
  return null;
}

export class EngineHttpError extends Error {
  override name = 'EngineHttpError';
}

/** GET `path` and parse the JSON answer; rejects on a non-2xx status, a connection error or the deadline. */
export function engineGetJson<T>(target: EngineTarget, path: string, timeoutMs: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const req = http.get({ ...target, path, headers: { host: 'docker' }, timeout: timeoutMs }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => {
        const text = Buffer.concat(parts).toString('utf8');
        if ((res.statusCode ?? 500) >= 300) return reject(new EngineHttpError(`engine answered ${res.statusCode}: ${text.trim()}`));
        try {
          resolve(JSON.parse(text) as T);
        } catch {
          reject(new EngineHttpError(`engine answered something that is not JSON: ${text.slice(0, 200)}`));
        }
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new EngineHttpError(`Docker engine did not answer within ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}
