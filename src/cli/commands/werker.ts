import os from 'node:os';
import { startRemoteWerker, type RunningWerker } from '../../embedded/remote-werker.js';
import { explainWerkerStartError, tokenRefusedMessage, TOKEN_REFUSED_EXIT } from '../../embedded/werker-start-errors.js';
import { UsageError } from '../resolve.js';
import { WerkerIdTakenError, normalizeWerkerName, werkerLabelProblem } from '../../werker/protocol.js';
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
  const server = serverUrlOrUsage(flags.server);
  if (!flags.token) throw new UsageError('give a werker token: --token <token> (or env OCELOT_WERKER_TOKEN); an admin creates one with ocelot werker-token create <name>');
  const dockerSettings = dockerSettingsOrUsage(flags);
  let running: RunningWerker | undefined;
  try {
    running = await startRemoteWerker({
      server,
      token: flags.token,
      ...werkerLabelsOrUsage(flags.name, flags.tags),
      slots: wholeNumber(flags.slots, '--slots', 2, { min: 1 }),
      workDir: flags.workDir,
      allowHost: flags.hostBuilds,
      docker: flags.docker,
      keepContainers: Boolean(flags.keepContainers),
      dockerSettings,
      gitCache: flags.gitCache !== false,
      drainMs: wholeNumber(flags.drain, '--drain', 10) * 1000,
      onFatal: (err) => {
        // Exit non-zero so a supervisor (systemd, compose) shows the failure instead of a werker idling uselessly;
        // the same line and status as a token refused at start.
        process.stderr.write(`ocelot: ${err instanceof WerkerIdTakenError ? err.message : tokenRefusedMessage(err)}\n`);
        setImmediate(() => void (running?.stop() ?? Promise.resolve()).finally(() => process.exit(TOKEN_REFUSED_EXIT)));
      },
    });
  } catch (err) {
    if (err instanceof WerkerIdTakenError) {
      // Another live token registered this werker id (the work dir's werker-id file) first: waiting will not help.
      process.stderr.write(`ocelot: ${err.message}\n`);
      process.exitCode = TOKEN_REFUSED_EXIT;
      return;
    }
    // The expected failures of the first registration get one line, like every CLI error (main.ts), and an exit
    // status that says which (docs/deployment.md); anything else is a bug and keeps its stack.
    const failure = explainWerkerStartError(err, server);
    if (!failure) throw err;
    if (failure.exitCode === 2) throw new UsageError(failure.message);
    process.stderr.write(`ocelot: ${failure.message}\n`);
    process.exitCode = failure.exitCode;
    return;
  }
  const started = running;
  stopOnSignals('no new builds; running ones get the drain time, then go back to the queue', () => started.stop(), {
    what: 'ending the drain, running builds go back to the queue now',
    now: () => started.hurry(),
  });
}

/**
 * `--server` as the werker will use it: an http: or https: URL (a proxy's path prefix is fine). Checked up front:
 * `127.0.0.1:8088` would otherwise fail every request as if the server were down, and be retried as such.
 */
export function serverUrlOrUsage(value: string): string {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  const expected = 'give the server\'s URL with its scheme, like --server https://ci.example.com or --server http://127.0.0.1:8088';
  const shown = value.includes('@') ? `…${value.slice(value.lastIndexOf('@'))}` : value;
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) throw new UsageError(`--server '${shown}' is not an http:// or https:// URL; ${expected}`);
  if (url.search || url.hash) throw new UsageError(`--server '${shown}' has a query or fragment; ${expected}`);
  return value;
}

/**
 * `--name` and `--tags` as the server accepts them (WERKER_LABEL_PATTERN, werker/protocol.ts), or a usage error
 * with the rule. Without `--name`: the host name, made to fit the rule (a character outside it becomes '-').
 */
export function werkerLabelsOrUsage(name: string | undefined, tags: string): { name: string; tags: string[] } {
  const chosen = name || normalizeWerkerName(os.hostname());
  const nameProblem = werkerLabelProblem('name', chosen);
  if (nameProblem) throw new UsageError(`--name: ${nameProblem}`);
  const list = tags.split(',').map((t) => t.trim()).filter(Boolean);
  for (const tag of list) {
    const problem = werkerLabelProblem('tag', tag);
    if (problem) throw new UsageError(`--tags: ${problem}`);
  }
  return { name: chosen, tags: list };
}
