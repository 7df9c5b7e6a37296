import os from 'node:os';
import { ApiClient } from '../api-client.js';
import { UsageError } from '../resolve.js';

export async function triggerCommand(acctRepo: string, opts: { branch?: string; hash?: string; force?: boolean; keepContainer?: boolean; json?: boolean }): Promise<void> {
  if (!opts.branch && !opts.hash) throw new UsageError('say what to build: --branch BRANCH (its current head) or --hash COMMIT');
  const api = ApiClient.fromEnv();
  const { build } = await api.trigger({
    acctRepo,
    branch: opts.branch,
    hash: opts.hash,
    force: opts.force,
    keepContainer: opts.keepContainer,
    triggeredBy: os.userInfo().username,
  });
  if (opts.json) process.stdout.write(`${JSON.stringify({ build }, null, 2)}\n`);
  else process.stdout.write(`queued build ${build.id} of ${build.acctRepo} at ${build.commit}${build.branch ? ` (${build.branch})` : ''}\nfollow it: ocelot logs ${build.id} --follow\n`);
}
