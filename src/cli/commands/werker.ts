import os from 'node:os';
import { startRemoteWerker } from '../../embedded/remote-werker.js';
import { UsageError } from '../resolve.js';
import type { DockerFlags } from '../../embedded/docker-settings.js';
import { dockerSettingsOrUsage, stopOnSignals, wholeNumber } from '../daemon.js';

/** `ocelot werker --server URL --token T`: a werker on this machine for a server elsewhere. */
export async function werkerCommand(flags: {
  server?: string;
  token?: string;
  tags: string;
  slots: string;
  name?: string;
  workDir: string;
  hostBuilds: boolean;
  docker: boolean;
  keepContainers?: boolean;
  drain: string;
  gitCache?: boolean;
} & DockerFlags): Promise<void> {
  if (!flags.server) throw new UsageError('give the server: --server https://ci.example.com (or env OCELOT_SERVER)');
  if (!flags.token) throw new UsageError('give a werker token: --token <token> (or env OCELOT_WERKER_TOKEN); an admin creates one with ocelot werker-token create <name>');
  const dockerSettings = dockerSettingsOrUsage(flags);
  const running = await startRemoteWerker({
    server: flags.server,
    token: flags.token,
    name: flags.name || os.hostname(),
    tags: flags.tags.split(',').map((t) => t.trim()).filter(Boolean),
    slots: wholeNumber(flags.slots, '--slots', 2, { min: 1 }),
    workDir: flags.workDir,
    allowHost: flags.hostBuilds,
    docker: flags.docker,
    keepContainers: Boolean(flags.keepContainers),
    dockerSettings,
    gitCache: flags.gitCache !== false,
    drainMs: wholeNumber(flags.drain, '--drain', 10) * 1000,
    onFatal: (err) => {
      // Exit non-zero so a supervisor (systemd, compose) shows the failure instead of a werker idling uselessly.
      console.error(`ocelot werker: ${err.message}. Ask an admin for a new token (ocelot werker-token create <name>) and restart the werker with it.`);
      setImmediate(() => void running.stop().finally(() => process.exit(3)));
    },
  });
  stopOnSignals('no new builds; running ones get the drain time, then go back to the queue', () => running.stop());
}
