import { ApiClient } from '../api-client.js';
import { parseTarget, resolveBuild } from '../resolve.js';

export async function logsCommand(target: string, opts: { follow?: boolean; attempt?: string }): Promise<void> {
  const api = ApiClient.fromEnv();
  const build = await resolveBuild(api, parseTarget(target));
  const stream = await api.logs(build.id, { follow: opts.follow, attempt: opts.attempt ? Number(opts.attempt) : undefined });
  const strip = Boolean(process.env.NO_COLOR);
  const decoder = new TextDecoder();
  for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) {
    if (strip) process.stdout.write(stripAnsi(decoder.decode(chunk, { stream: true })));
    else if (!process.stdout.write(chunk)) await new Promise((r) => process.stdout.once('drain', r));
  }
}

/** NO_COLOR: drop color/cursor escapes and carriage-return progress redraws, as the original's strip did. */
export function stripAnsi(text: string): string {
  return text.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '').replace(/\u001b[()][A-Z0-9]/g, '');
}
