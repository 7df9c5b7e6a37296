import { ApiClient } from '../api-client.js';
import { paint, table, when } from '../format.js';

/** `ocelot werkers`: who is connected, what each offers, and what it runs now. */
export async function werkersCommand(opts: { json?: boolean }): Promise<void> {
  const { werkers } = await ApiClient.fromEnv().werkers();
  if (opts.json) {
    process.stdout.write(`${JSON.stringify({ werkers }, null, 2)}\n`);
    return;
  }
  if (werkers.length === 0) {
    process.stdout.write('no werkers have registered yet\n');
    return;
  }
  const rows = werkers.map((w) => [
    w.name,
    w.online ? paint('green', 'online') : paint('gray', 'gone'),
    w.tags.join(',') || '-',
    w.runtimes.join(',') || '-',
    String(w.slots),
    w.version,
    when(w.lastSeenAt),
    w.running.length ? w.running.map((id) => `#${id}`).join(' ') : '-',
  ]);
  process.stdout.write(`${table(['NAME', 'STATUS', 'TAGS', 'RUNTIMES', 'SLOTS', 'VERSION', 'LAST SEEN', 'RUNNING'], rows)}\n`);
}
