/**
 * What every long-running command (`up`, `server`, `werker`) does the same way: read whole-number flags, read the
 * operator's docker settings, and stop cleanly on SIGTERM/SIGINT (exit 0 after an orderly stop, 1 if it failed).
 */
import { dockerSettingsFrom, DockerSettingsError, type DockerFlags, type DockerSettings } from '../embedded/docker-settings.js';
import { UsageError } from './resolve.js';

export { wholeNumber } from './resolve.js';

export function dockerSettingsOrUsage(flags: DockerFlags): DockerSettings {
  try {
    return dockerSettingsFrom(flags);
  } catch (err) {
    if (err instanceof DockerSettingsError) throw new UsageError(err.message);
    throw err;
  }
}

/** On the first SIGTERM or SIGINT: say what happens, stop, exit. */
export function stopOnSignals(what: string, stop: () => Promise<void>): void {
  const shutdown = (signal: string) => {
    console.log(`${signal}: ${what}`);
    stop().then(
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
