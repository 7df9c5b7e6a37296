import { startUp, defaultUpOptions } from '../../embedded/up.js';
import { UsageError } from '../resolve.js';
import { dockerSettingsFrom, DockerSettingsError, type DockerFlags, type DockerSettings } from '../../embedded/docker-settings.js';

export async function upCommand(flags: {
  port: string;
  host: string;
  dataDir: string;
  slots: string;
  tags: string;
  hostBuilds: boolean;
  docker: boolean;
  dockerFallbackToHost?: boolean;
  keepContainers?: boolean;
  drain: string;
  privateReads?: boolean;
} & DockerFlags): Promise<void> {
  const num = (v: string, what: string) => {
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
  const up = await startUp({
    ...defaultUpOptions(),
    port: num(flags.port, '--port'),
    host: flags.host,
    dataDir: flags.dataDir,
    slots: Math.max(1, num(flags.slots, '--slots')),
    tags: flags.tags.split(',').map((t) => t.trim()).filter(Boolean),
    allowHost: flags.hostBuilds,
    docker: flags.docker,
    dockerFallbackToHost: Boolean(flags.dockerFallbackToHost),
    keepContainers: Boolean(flags.keepContainers),
    dockerSettings,
    drainMs: num(flags.drain, '--drain') * 1000,
    privateReads: Boolean(flags.privateReads),
  });
  const shutdown = (signal: string) => {
    console.log(`${signal}: stopping (running builds get the drain time, then go back to the queue)`);
    up.stop().then(
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
