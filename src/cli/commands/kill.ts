import { ApiClient } from '../api-client.js';
import { parseTarget, resolveBuild } from '../resolve.js';
import { colorState } from '../format.js';

export async function killCommand(target: string, opts: { json?: boolean }): Promise<void> {
  const api = ApiClient.fromEnv();
  const build = await resolveBuild(api, parseTarget(target));
  const { build: after } = await api.cancel(build.id, `cancelled with ocelot kill by ${process.env.USER ?? 'cli'}`);
  if (opts.json) {
    process.stdout.write(`${JSON.stringify({ build: after }, null, 2)}\n`);
    return;
  }
  const what = after.state === 'CANCELLED' ? 'cancelled' : after.cancelRequested ? 'cancel requested; the werker stops it within a second' : `already ${after.state}`;
  process.stdout.write(`build ${after.id} ${colorState(after.state)}: ${what}\n`);
}
