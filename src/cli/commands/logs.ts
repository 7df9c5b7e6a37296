import { ApiClient, ApiError } from '../api-client.js';
import { followLogs } from '../follow-logs.js';
import { parseTarget, resolveBuild } from '../resolve.js';

export async function logsCommand(target: string, opts: { follow?: boolean; attempt?: string }): Promise<void> {
  const api = ApiClient.fromEnv();
  const build = await resolveBuild(api, parseTarget(target));
  const attempt = opts.attempt ? Number(opts.attempt) : undefined;
  const strip = Boolean(process.env.NO_COLOR);
  const out = async (data: string | Uint8Array) => {
    if (!process.stdout.write(data)) await new Promise((r) => process.stdout.once('drain', r));
  };

  if (opts.follow) {
    // Server-sent events, resumed where they broke off when the server restarts or the connection drops.
    await followLogs(api, build.id, {
      attempt,
      write: (text) => out(strip ? stripAnsi(text) : text),
      notice: (line) => process.stderr.write(`${line}\n`),
    });
    return;
  }

  // The stored log as it is, raw bytes.
  const stream = await api.logs(build.id, { attempt });
  const decoder = new TextDecoder();
  try {
    for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) {
      await out(strip ? stripAnsi(decoder.decode(chunk, { stream: true })) : chunk);
    }
  } catch (err) {
    const why = err instanceof Error ? `${err.message}${err.cause instanceof Error ? `: ${err.cause.message}` : ''}` : String(err);
    throw new ApiError(0, `the log of build ${build.id} broke off (${why}); try again`);
  }
}

/** NO_COLOR: drop color/cursor escapes and carriage-return progress redraws, as the original's strip did. */
export function stripAnsi(text: string): string {
  return text.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '').replace(/\u001b[()][A-Z0-9]/g, '');
}
