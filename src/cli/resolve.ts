/**
 * Turns what a user typed (a build id or a commit-hash prefix) into one build, or explains how to pick.
 * The NEWEST build of a commit wins (the original's viewer showed the oldest).
 */
import { ApiClient, ApiError } from './api-client.js';
import type { BuildView } from '../server/views.js';
import { table } from './format.js';

export class UsageError extends Error {}

/** A whole-number flag, `min`..`max` when given; `fallback` when unset. */
export function wholeNumber(value: string | undefined, what: string, fallback?: number, range: { min?: number; max?: number } = {}): number {
  if ((value === undefined || value === '') && fallback !== undefined) return fallback;
  const { min = 0, max } = range;
  const n = Number(value);
  if (value === undefined || value.trim() === '' || !Number.isInteger(n) || n < min || (max !== undefined && n > max)) {
    const bounds = max !== undefined ? ` from ${min} to ${max}` : min > 0 ? ` of at least ${min}` : '';
    throw new UsageError(`${what} must be a whole number${bounds}, got '${value ?? ''}'`);
  }
  return n;
}

export async function resolveBuild(api: ApiClient, target: { buildId?: number; hash?: string; acctRepo?: string; acct?: string }): Promise<BuildView> {
  if (target.buildId !== undefined) return (await api.getBuild(target.buildId)).build;
  if (target.hash) {
    const hash = target.hash.toLowerCase();
    if (!/^[0-9a-f]{1,40}$/.test(hash)) throw new UsageError(`'${target.hash}' is not a commit hash prefix (hex characters only)`);
    const { commits } = await api.commits(hash);
    if (commits.length === 0) throw new ApiError(404, `no build found for a commit starting with ${hash}`);
    if (commits.length > 1) {
      const rows = commits.map((c) => [c.commit.slice(0, 12), `${c.account}/${c.repo}`, c.commit]);
      throw new UsageError(
        `hash prefix ${hash} matches ${commits.length} commits; give more characters of the one you mean (or use --build-id):\n${table(['PREFIX', 'ACCT/REPO', 'COMMIT'], rows)}`,
      );
    }
    const { builds } = await api.listBuilds({ hash: commits[0]!.commit, limit: 1 });
    if (!builds[0]) throw new ApiError(404, `no build found for ${commits[0]!.commit}`);
    return builds[0];
  }
  if (target.acctRepo || target.acct) {
    const { builds } = await api.listBuilds({ acctRepo: target.acctRepo, account: target.acct, limit: 1 });
    if (!builds[0]) throw new ApiError(404, `no builds found for ${target.acctRepo ?? target.acct}`);
    return builds[0];
  }
  throw new UsageError('say which build: --build-id N, --hash PREFIX, --acct-repo ACCT/REPO or --acct ACCT');
}

/** `ocelot logs 42` or `ocelot logs 1a2b3c`: all digits and short = a build id; otherwise a hash prefix. */
export function parseTarget(arg: string): { buildId?: number; hash?: string } {
  if (arg.trim() === '') throw new UsageError('give a build id or a commit hash prefix');
  if (/^\d{1,9}$/.test(arg)) return { buildId: Number(arg) };
  return { hash: arg };
}
