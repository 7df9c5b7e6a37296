/**
 * A distributed Ocelot on one machine for process-level tests: a throwaway PostgreSQL database, a git smart-HTTP
 * server with one test repository, any number of `ocelot server` replicas and `ocelot werker` processes, and
 * signed GitHub pushes. The CLI's --json (and, for counts the CLI does not show, the test database) is the only
 * window; nothing is mocked.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startGitHttpServer, type GitHttpServer } from '../../src/devtools/git-http-server.js';
import { addCommit, createTestRepo, type TestRepo } from '../../src/devtools/test-repo.js';
import { repointGithubPush } from '../../src/devtools/payloads.js';
import { githubDeliveryHeaders } from '../../src/forges/github/sign.js';
import { testDatabase, type TestDatabase } from '../../src/store/pg-test-db.js';
import { ocelotJson } from './ocelot-process.js';
import { startDaemon, type Daemon } from './ocelot-daemon.js';
import { fixture } from './fixtures.js';

export const SECRET = 'cluster-webhook-secret';
export const ADMIN = 'cluster-admin-token';

export interface StatusJson {
  build: { id: number; state: string; reason: string | null; attempt: number; werkerId: string | null };
  stages: Array<{ name: string; state: string; exitCode: number | null; reason: string | null }>;
  attempts: Array<{ attempt: number; state: string; reason: string | null; werkerId: string }>;
}

export interface ClusterOptions {
  /** Lease length for the servers (werkers learn it from the server when they register). */
  leaseMs: number;
  pipeline: string;
}

export interface Cluster {
  tmp: string;
  db: TestDatabase;
  repo: TestRepo;
  servers: Daemon[];
  werkers: Daemon[];
  /** CLI environment against a server (default: the first). */
  env(url?: string): NodeJS.ProcessEnv;
  startServer(port?: number): Promise<Daemon & { url: string }>;
  startWerker(name: string, server?: string, extra?: string[]): Promise<Daemon>;
  setPipeline(yaml: string, message: string): Promise<void>;
  /** A signed push of the repository's head; distinct delivery ids make distinct builds. */
  push(opts?: { url?: string; deliveryId?: string }): Promise<number>;
  waitFor(id: number, done: (s: StatusJson) => boolean, timeoutMs?: number): Promise<StatusJson>;
  dump(): string;
  close(): Promise<void>;
}

export const isFinal = (s: StatusJson) => !['QUEUED', 'RUNNING'].includes(s.build.state);

export async function startCluster(opts: ClusterOptions): Promise<Cluster> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ocelot-cluster-'));
  const db = testDatabase();
  await db.create();
  const repo = await createTestRepo(path.join(tmp, 'git', 'acme'), { 'ocelot.yml': opts.pipeline }, { name: 'widgets' });
  const git: GitHttpServer = await startGitHttpServer({ root: path.join(tmp, 'git') });
  const servers: Daemon[] = [];
  const werkers: Daemon[] = [];
  let deliveries = 0;

  const cluster: Cluster = {
    tmp,
    db,
    repo,
    servers,
    werkers,
    env: (url) => ({ OCELOT_SERVER: url ?? servers[0]!.matched, OCELOT_TOKEN: ADMIN, NO_COLOR: '1' }),

    async startServer(port = 0) {
      const d = await startDaemon(
        ['server', '--database', db.url, '--host', '127.0.0.1', '--port', String(port), '--data-dir', path.join(tmp, `server-${servers.length}`)],
        { OCELOT_WEBHOOK_SECRET: SECRET, OCELOT_ADMIN_TOKEN: ADMIN, OCELOT_LEASE_MS: String(opts.leaseMs) },
        /listening at (http:\/\/\S+)/,
      );
      servers.push(d);
      return Object.assign(d, { url: d.matched });
    },

    async startWerker(name, server, extra = []) {
      const url = server ?? servers[0]!.matched;
      const created = await ocelotJson<{ token: string }>(['werker-token', 'create', `${name}-${werkers.length}`], cluster.env(url));
      // No OCELOT_LEASE_MS here on purpose: the werker must take the lease length from the server.
      const w = await startDaemon(
        ['werker', '--server', url, '--token', created.token, '--name', name, '--work-dir', path.join(tmp, `werker-${name}`), '--no-docker', '--slots', '1', ...extra],
        { OCELOT_LEASE_MS: '', OCELOT_TOKEN: '', OCELOT_SERVER: '' },
        new RegExp(`werker ${name} \\(`),
      );
      werkers.push(w);
      return w;
    },

    async setPipeline(yaml, message) {
      await addCommit(repo, { 'ocelot.yml': yaml }, { message });
    },

    async push(o = {}) {
      const head = repo.commits[repo.commits.length - 1]!;
      const payload = repointGithubPush(fixture('webhooks/github/push.branch.one-commit.json'), {
        cloneUrl: `${git.url}/acme/widgets.git`,
        account: 'acme',
        repo: 'widgets',
        branch: repo.branch,
        before: repo.commits[repo.commits.length - 2] ?? '0'.repeat(40),
        commits: [{ id: head, message: 'push', modified: ['ocelot.yml'] }],
        sender: 'octocat',
      });
      const body = JSON.stringify(payload);
      const url = o.url ?? servers[0]!.matched;
      const delivery = o.deliveryId ?? `gh-${head}-${++deliveries}-${process.pid}`;
      const res = await fetch(`${url}/hooks/github`, { method: 'POST', headers: githubDeliveryHeaders('push', body, SECRET, delivery), body });
      const answer = (await res.json()) as { buildIds?: number[] };
      if (res.status !== 202 || !answer.buildIds?.[0]) throw new Error(`webhook answered ${res.status}: ${JSON.stringify(answer)}`);
      return answer.buildIds[0];
    },

    async waitFor(id, done, timeoutMs = 40_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        let s: StatusJson | undefined;
        try {
          s = await ocelotJson<StatusJson>(['status', '--build-id', String(id)], cluster.env());
        } catch (err) {
          // A server being restarted by the test: ask again.
          if (Date.now() > deadline) throw err;
        }
        if (s && done(s)) return s;
        if (Date.now() > deadline) throw new Error(`build ${id}: ${JSON.stringify(s)}\n${cluster.dump()}`);
        await new Promise((r) => setTimeout(r, 150));
      }
    },

    dump() {
      return [...servers.map((s, i) => `--- server ${i}\n${s.output()}`), ...werkers.map((w, i) => `--- werker ${i}\n${w.output()}`)].join('\n');
    },

    async close() {
      for (const w of werkers) {
        if (w.child.signalCode === null && w.child.exitCode === null) w.child.kill('SIGCONT');
        await w.stop('SIGKILL');
      }
      for (const s of servers) await s.stop('SIGKILL');
      await git.close();
      await db.drop().catch(() => undefined);
      fs.rmSync(tmp, { recursive: true, force: true });
    },
  };
  return cluster;
}

/** The numbered lines (`line N`) of a log, in the order they appear. */
export function numberedLines(text: string): number[] {
  return text
    .split('\n')
    .map((l) => /^line (\d+)$/.exec(l.trim()))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]));
}

export const oneTo = (n: number) => Array.from({ length: n }, (_, i) => i + 1);
