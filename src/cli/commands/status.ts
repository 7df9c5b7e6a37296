import { ApiClient } from '../api-client.js';
import { colorState, duration, paint, table, when } from '../format.js';
import { resolveBuild, wholeNumber } from '../resolve.js';
import type { BuildDetail } from '../api-client.js';

export interface StatusOptions {
  hash?: string;
  acctRepo?: string;
  acct?: string;
  buildId?: string;
  json?: boolean;
}

export async function statusCommand(opts: StatusOptions): Promise<void> {
  const api = ApiClient.fromEnv();
  const found = await resolveBuild(api, {
    buildId: opts.buildId !== undefined ? wholeNumber(opts.buildId, '--build-id') : undefined,
    hash: opts.hash,
    acctRepo: opts.acctRepo,
    acct: opts.acct,
  });
  const detail = await api.getBuild(found.id);
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(detail, null, 2)}\n`);
    return;
  }
  process.stdout.write(renderStatus(detail));
}

export function renderStatus({ build: b, stages, attempts }: BuildDetail): string {
  const ref = b.tag ? `tag ${b.tag}` : b.pullRequest ? `PR #${b.pullRequest.number} ${b.pullRequest.sourceBranch} → ${b.pullRequest.targetBranch}` : `branch ${b.branch ?? '-'}`;
  const lines = [
    `${paint('bold', `build ${b.id}`)}  ${colorState(b.state)}${b.reason ? `  ${b.reason}` : ''}`,
    `  repo:       ${b.acctRepo} (${b.forge})`,
    `  commit:     ${b.commit}  ${ref}`,
    `  triggered:  ${b.event} by ${b.triggeredBy}`,
    `  queued:     ${when(b.queuedAt)}  waited ${duration(b.queueWaitMs)}  ran ${duration(b.durationMs)}`,
    `  attempt:    ${b.attempt} of ${b.maxAttempts}${b.werkerId ? `  on werker ${b.werkerName ?? b.werkerId}` : ''}${b.requires.length ? `  needs ${b.requires.join(', ')}` : ''}`,
  ];
  for (const a of attempts) {
    // A hand-back (werker shutting down, lacking a tag) gives its attempt number back: it is not an attempt of
    // its own, so it is shown as what it was rather than as a second "attempt N". A lost attempt is always shown
    // (after a hand-back its number can equal the current one); other attempts only when they are not the current.
    const who = a.werkerName ?? a.werkerId;
    if (a.state === 'HANDED_BACK') lines.push(`  handed back by werker ${who}${a.reason ? ` — ${a.reason}` : ''}`);
    else if (a.state === 'LOST' || (a.state !== 'RUNNING' && a.attempt !== b.attempt)) lines.push(`  attempt ${a.attempt}: ${a.state} on werker ${who}${a.reason ? ` — ${a.reason}` : ''}`);
  }
  lines.push('');
  const rows = stages.map((s) => [
    String(s.ordinal),
    s.kind === 'system' ? paint('gray', s.name) : s.name,
    colorState(s.state),
    s.exitCode === null ? '-' : String(s.exitCode),
    duration(s.durationMs),
    s.reason ?? s.messages.join('; '),
  ]);
  lines.push(table(['#', 'STAGE', 'STATE', 'EXIT', 'TIME', 'REASON / MESSAGES'], rows));
  return `${lines.join('\n')}\n`;
}
