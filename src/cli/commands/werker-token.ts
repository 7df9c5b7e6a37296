import { ApiClient } from '../api-client.js';
import { table, when } from '../format.js';

/** `ocelot werker-token create|list|revoke`: admin commands (OCELOT_TOKEN must be the admin token). */
export async function werkerTokenCreate(name: string, opts: { json?: boolean }): Promise<void> {
  const created = await ApiClient.fromEnv().createWerkerToken(name);
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(created, null, 2)}\n`);
    return;
  }
  process.stdout.write(
    `werker token ${created.id} '${created.name}' created. It is shown only this once; keep it secret:\n\n  ${created.token}\n\n` +
      `Start a werker with: ocelot werker --server ${ApiClient.fromEnv().server} --token ${created.token}\n`,
  );
}

export async function werkerTokenList(opts: { json?: boolean }): Promise<void> {
  const { tokens } = await ApiClient.fromEnv().listWerkerTokens();
  if (opts.json) {
    process.stdout.write(`${JSON.stringify({ tokens }, null, 2)}\n`);
    return;
  }
  if (tokens.length === 0) {
    process.stdout.write('no werker tokens yet: ocelot werker-token create <name>\n');
    return;
  }
  const rows = tokens.map((t) => [String(t.id), t.name, when(t.createdAt), t.revokedAt ? `revoked ${when(t.revokedAt)}` : 'live']);
  process.stdout.write(`${table(['ID', 'NAME', 'CREATED', 'STATUS'], rows)}\n`);
}

export async function werkerTokenRevoke(idOrName: string, opts: { json?: boolean }): Promise<void> {
  const { revoked } = await ApiClient.fromEnv().revokeWerkerToken(idOrName);
  if (opts.json) {
    process.stdout.write(`${JSON.stringify({ revoked }, null, 2)}\n`);
    return;
  }
  for (const t of revoked) process.stdout.write(`revoked werker token ${t.id} '${t.name}': werkers using it are refused from their next request\n`);
}
