import { startUp, defaultUpOptions } from '../../embedded/up.js';
import type { DockerFlags } from '../../embedded/docker-settings.js';
import { dockerSettingsOrUsage, explainStartErrors, stopOnSignals, wholeNumber } from '../daemon.js';

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
  gitCache?: boolean;
} & DockerFlags): Promise<void> {
  const dockerSettings = dockerSettingsOrUsage(flags);
  const options = {
    ...defaultUpOptions(),
    port: wholeNumber(flags.port, '--port'),
    host: flags.host,
    dataDir: flags.dataDir,
    slots: wholeNumber(flags.slots, '--slots', undefined, { min: 1 }),
    tags: flags.tags.split(',').map((t) => t.trim()).filter(Boolean),
    allowHost: flags.hostBuilds,
    docker: flags.docker,
    dockerFallbackToHost: Boolean(flags.dockerFallbackToHost),
    keepContainers: Boolean(flags.keepContainers),
    dockerSettings,
    gitCache: flags.gitCache !== false,
    drainMs: wholeNumber(flags.drain, '--drain') * 1000,
    privateReads: Boolean(flags.privateReads),
  };
  const up = await explainStartErrors(flags, () => startUp(options));
  stopOnSignals('stopping (running builds get the drain time, then go back to the queue)', () => up.stop());
}
