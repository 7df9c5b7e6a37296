import { ApiClient } from '../api-client.js';
import { colorState, duration, table, when } from '../format.js';
import { wholeNumber } from '../resolve.js';

export async function summaryCommand(opts: { acctRepo?: string; acct?: string; limit?: string; json?: boolean }): Promise<void> {
  const api = ApiClient.fromEnv();
  const limit = wholeNumber(opts.limit, '--limit', 20, { min: 1, max: 1000 });
  const { builds } = await api.listBuilds({ acctRepo: opts.acctRepo, account: opts.acct, limit });
  if (opts.json) {
    process.stdout.write(`${JSON.stringify({ builds }, null, 2)}\n`);
    return;
  }
  if (builds.length === 0) {
    process.stdout.write('no builds yet\n');
    return;
  }
  const rows = builds.map((b) => [
    String(b.id),
    b.acctRepo,
    b.tag ? `tag:${b.tag}` : b.pullRequest ? `PR#${b.pullRequest.number}` : (b.branch ?? '-'),
    b.commit.slice(0, 7),
    colorState(b.state),
    b.event,
    b.triggeredBy,
    when(b.queuedAt),
    duration(b.queueWaitMs),
    duration(b.durationMs),
  ]);
  process.stdout.write(`${table(['ID', 'REPO', 'REF', 'COMMIT', 'STATE', 'EVENT', 'BY', 'QUEUED', 'WAIT', 'DURATION'], rows)}\n`);
}
