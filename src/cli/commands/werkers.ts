import { ApiClient } from '../api-client.js';
import { paint, printable, table, when } from '../format.js';

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
  // Every field from the server goes through printable(): the server checks names and tags at registration, but
  // rows stored before that (or by another server version) must not reach the terminal raw either.
  const rows = werkers.map((w) => [
    printable(w.name),
    w.online ? paint('green', 'online') : paint('gray', 'gone'),
    printable(w.tags.join(',')) || '-',
    printable(w.runtimes.join(',')) || '-',
    printable(String(w.slots)),
    printable(w.version),
    printable(when(w.lastSeenAt)),
    w.running.length ? printable(w.running.map((id) => `#${id}`).join(' ')) : '-',
  ]);
  process.stdout.write(`${table(['NAME', 'STATUS', 'TAGS', 'RUNTIMES', 'SLOTS', 'VERSION', 'LAST SEEN', 'RUNNING'], rows)}\n`);
}
