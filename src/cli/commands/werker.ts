import os from 'node:os';
import { startRemoteWerker } from '../../embedded/remote-werker.js';
import { UsageError } from '../resolve.js';
import { dockerSettingsFrom, DockerSettingsError, type DockerFlags, type DockerSettings } from '../../embedded/docker-settings.js';

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
} & DockerFlags): Promise<void> {
  if (!flags.server) throw new UsageError('give the server: --server https://ci.example.com (or env OCELOT_SERVER)');
  if (!flags.token) throw new UsageError('give a werker token: --token <token> (or env OCELOT_WERKER_TOKEN); an admin creates one with ocelot werker-token create <name>');
  const num = (v: string | undefined, fallback: number, what: string) => {
    if (v === undefined || v === '') return fallback;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new UsageError(`${what} must be a whole number, got '${v}'`);
    return n;
  };
  let dockerSettings: DockerSettings;
  try {
    dockerSettings = dockerSettingsFrom(flags);
  } catch (err) {
    if (err instanceof DockerSettingsError) throw new UsageError(err.message);
    throw err;
  }
  const running = await startRemoteWerker({
    server: flags.server,
    token: flags.token,
    name: flags.name || os.hostname(),
    tags: flags.tags.split(',').map((t) => t.trim()).filter(Boolean),
    slots: Math.max(1, num(flags.slots, 2, '--slots')),
    workDir: flags.workDir,
    allowHost: flags.hostBuilds,
    docker: flags.docker,
    keepContainers: Boolean(flags.keepContainers),
    dockerSettings,
    drainMs: num(flags.drain, 10, '--drain') * 1000,
    onFatal: (err) => {
      // Exit non-zero so a supervisor (systemd, compose) shows the failure instead of a werker idling uselessly.
      console.error(`ocelot werker: ${err.message}. Ask an admin for a new token (ocelot werker-token create <name>) and restart the werker with it.`);
      setImmediate(() => void running.stop().finally(() => process.exit(3)));
    },
  });
  const shutdown = (signal: string) => {
    console.log(`${signal}: no new builds; running ones get the drain time, then go back to the queue`);
    running.stop().then(
      () => process.exit(0),
      (err) => {
        console.error(`shutdown failed: ${String(err)}`);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}
