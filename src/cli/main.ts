/**
 * The `ocelot` command line. Everything but `up`, `run` and `validate` is a thin client of the REST API
 * (OCELOT_SERVER, OCELOT_TOKEN). Errors print one clear line and exit non-zero.
 */
import { Command, Option } from 'commander';
import { VERSION } from '../version.js';
import { ApiError } from './api-client.js';
import { UsageError } from './resolve.js';
import { DataDirInUseError } from '../embedded/data-dir-lock.js';

/**
 * Commands are loaded when run, not at start: `ocelot status` should not pay for the server, the store and the
 * runtimes, and `ocelot up` should not keep the other commands' modules in memory.
 */
function lazy<A extends unknown[]>(load: () => Promise<(...args: A) => unknown>) {
  return async (...args: A): Promise<void> => {
    const fn = await load();
    await fn(...args);
  };
}

/** The werker operator's docker settings, the same on every command that runs a werker (`up`, `werker`). */
function dockerOptions(cmd: Command): Command {
  return cmd
    .option('--no-git-cache', 'fetch every build over the network instead of through the werker\'s repository cache')
    .option('--docker-memory <size>', 'memory ceiling of build containers, e.g. 4g (env OCELOT_DOCKER_MEMORY)')
    .option('--docker-cpus <n>', 'CPU ceiling of build containers, e.g. 2 or 1.5 (env OCELOT_DOCKER_CPUS)')
    .option('--docker-pids <n>', 'process-count ceiling of build containers (env OCELOT_DOCKER_PIDS)')
    .option('--allow-docker-socket', 'mount the engine socket into builds that ask (dockerSocket: true); gives them root on this host (env OCELOT_DOCKER_ALLOW_SOCKET=1)')
    .addOption(new Option('--pull-policy <policy>', 'when to pull build images (env OCELOT_DOCKER_PULL_POLICY; default if-not-present)').choices(['always', 'if-not-present', 'never']))
    .option('--docker-socket <path>', 'Docker engine unix socket (env OCELOT_DOCKER_SOCKET; default DOCKER_HOST, else /var/run/docker.sock)');
}

const program = new Command();
program.name('ocelot').description('Ocelot CI: webhooks in, ocelot.yml stages out, every stage recorded.').version(VERSION, '-V, --version');

program
  .command('up')
  .description('run the embedded server + werker + SQLite in one process')
  .option('--port <port>', 'HTTP port (env OCELOT_PORT)', process.env.OCELOT_PORT ?? '8088')
  .option('--host <host>', 'listen address (env OCELOT_HOST)', process.env.OCELOT_HOST ?? '0.0.0.0')
  .option('--data-dir <dir>', 'where the database, logs and secrets live (env OCELOT_DATA_DIR)', process.env.OCELOT_DATA_DIR ?? '.ocelot-data')
  .option('--slots <n>', 'builds run at once (env OCELOT_SLOTS)', process.env.OCELOT_SLOTS ?? '2')
  .option('--tags <list>', 'werker tags for machineTag routing, comma separated (env OCELOT_TAGS)', process.env.OCELOT_TAGS ?? '')
  .option('--no-host-builds', 'refuse pipelines without image (they would run on this machine)')
  .option('--no-docker', 'do not use a Docker engine even if one answers')
  .option('--docker-fallback-to-host', 'run image: pipelines on the host when no Docker engine answers')
  .option('--keep-containers', 'leave build containers for debugging')
  .option('--drain <seconds>', 'on SIGTERM, how long running builds may finish before being handed back', '10')
  .option('--private-reads', 'require the admin token for reads too')
  .action(lazy(async () => (await import('./commands/up.js')).upCommand));
dockerOptions(program.commands.find((c) => c.name() === 'up')!);

program
  .command('server')
  .description('run the server alone, werkers elsewhere (distributed mode; several replicas may share one PostgreSQL)')
  .option('--database <url>', 'postgres://user@host/db (env OCELOT_DATABASE_URL)', process.env.OCELOT_DATABASE_URL)
  .option('--port <port>', 'HTTP port (env OCELOT_PORT)', process.env.OCELOT_PORT ?? '8088')
  .option('--host <host>', 'listen address (env OCELOT_HOST)', process.env.OCELOT_HOST ?? '0.0.0.0')
  .option('--data-dir <dir>', 'where generated secrets are kept when OCELOT_WEBHOOK_SECRET / OCELOT_ADMIN_TOKEN are unset (env OCELOT_DATA_DIR)', process.env.OCELOT_DATA_DIR ?? '.ocelot-data')
  .option('--private-reads', 'require the admin token for reads too')
  .action(lazy(async () => (await import('./commands/server.js')).serverCommand));

program
  .command('werker')
  .description('run builds for a server elsewhere, over its HTTP werker protocol')
  .option('--server <url>', 'the server (or the proxy in front of the replicas) (env OCELOT_SERVER)', process.env.OCELOT_SERVER)
  .option('--token <token>', 'a werker token from ocelot werker-token create (env OCELOT_WERKER_TOKEN)', process.env.OCELOT_WERKER_TOKEN)
  .option('--tags <list>', 'werker tags for machineTag routing, comma separated (env OCELOT_TAGS)', process.env.OCELOT_TAGS ?? '')
  .option('--slots <n>', 'builds run at once (env OCELOT_SLOTS)', process.env.OCELOT_SLOTS ?? '2')
  .option('--name <name>', 'shown in ocelot werkers and lost-werker reasons (default: the host name)')
  .option('--work-dir <dir>', 'workspaces and log spools (env OCELOT_WORK_DIR)', process.env.OCELOT_WORK_DIR ?? '.ocelot-werker')
  .option('--no-host-builds', 'refuse pipelines without image (they would run on this machine)')
  .option('--no-docker', 'do not use a Docker engine even if one answers')
  .option('--keep-containers', 'leave build containers for debugging')
  .option('--drain <seconds>', 'on SIGTERM, how long running builds may finish before being handed back', '10')
  .action(lazy(async () => (await import('./commands/werker.js')).werkerCommand));
dockerOptions(program.commands.find((c) => c.name() === 'werker')!);

const token = program.command('werker-token').description('issue and revoke werker tokens (needs the admin token in OCELOT_TOKEN)');
token.command('create').argument('<name>').description('issue a token; it is printed once').option('--json', 'machine-readable output').action(lazy(async () => (await import('./commands/werker-token.js')).werkerTokenCreate));
token.command('list').description('tokens with their state (never the tokens themselves)').option('--json', 'machine-readable output').action(lazy(async () => (await import('./commands/werker-token.js')).werkerTokenList));
token.command('revoke').argument('<id|name>').description('revoke a token; werkers using it are refused at once').option('--json', 'machine-readable output').action(lazy(async () => (await import('./commands/werker-token.js')).werkerTokenRevoke));

program
  .command('werkers')
  .description('werkers with tags, slots, version, last seen and current builds')
  .option('--json', 'machine-readable output')
  .action(lazy(async () => (await import('./commands/werkers.js')).werkersCommand));

program
  .command('status')
  .description('state of a build and each of its stages')
  .option('--hash <prefix>', 'newest build of the commit starting with this')
  .option('--acct-repo <acct/repo>', 'newest build of this repository')
  .option('--acct <acct>', 'newest build of this account')
  .option('--build-id <n>', 'this build')
  .option('--json', 'machine-readable output')
  .action(lazy(async () => (await import('./commands/status.js')).statusCommand));

program
  .command('summary')
  .description('recent builds')
  .option('--acct-repo <glob>', 'acct/repo, * allowed (acct/orch*)')
  .option('--acct <acct>', 'only this account')
  .option('--limit <n>', 'how many', '20')
  .option('--json', 'machine-readable output')
  .action(lazy(async () => (await import('./commands/summary.js')).summaryCommand));

program
  .command('logs')
  .description('the log of a build (id or commit-hash prefix)')
  .argument('<build>', 'build id or commit hash prefix')
  .option('-f, --follow', 'keep streaming until the build ends')
  .option('--attempt <n>', 'a specific attempt (default: the current one)')
  .action(lazy(async () => (await import('./commands/logs.js')).logsCommand));

program
  .command('trigger')
  .description('queue a build without a webhook, for a repository Ocelot has seen')
  .argument('<acct/repo>')
  .option('--branch <branch>', 'build the current head of this branch')
  .option('--hash <hash>', 'build this commit')
  .option('--force', 'build even if branches or [skip ci] would say no')
  .option('--keep-container', 'leave the build container for debugging')
  .option('--json', 'machine-readable output')
  .action(lazy(async () => (await import('./commands/trigger.js')).triggerCommand));

program
  .command('kill')
  .description('cancel a queued or running build')
  .argument('<build>', 'build id or commit hash prefix')
  .option('--json', 'machine-readable output')
  .action(lazy(async () => (await import('./commands/kill.js')).killCommand));

program
  .command('validate')
  .description('check an ocelot.yml offline')
  .argument('[file]', 'path to ocelot.yml or a checkout', 'ocelot.yml')
  .option('--branch <branch>', 'also say which stages a push to this branch would run')
  .option('--json', 'machine-readable output')
  .action(async (file: string, opts: { branch?: string; json?: boolean }) => {
    process.exitCode = await (await import('./commands/validate.js')).validateCommand(file, opts);
  });

program
  .command('run')
  .description('run the pipeline of a local checkout, no server')
  .argument('[dir]', 'the checkout', '.')
  .addOption(new Option('--runtime <runtime>', 'host or docker (default: docker when the file has image:)').choices(['host', 'docker']))
  .option('--branch <branch>', 'branch name for triggers (default: the checkout\'s)')
  .option('--json', 'print the result as JSON')
  .action(async (dir: string, opts) => {
    process.exitCode = await (await import('./commands/run.js')).runCommand(dir, opts);
  });

program
  .command('version')
  .description('print the version')
  .option('--json', 'machine-readable output')
  .action((opts: { json?: boolean }) => {
    process.stdout.write(opts.json ? `${JSON.stringify({ version: VERSION })}\n` : `ocelot ${VERSION}\n`);
  });

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof UsageError || err instanceof ApiError || err instanceof DataDirInUseError) {
    process.stderr.write(`ocelot: ${err.message}\n`);
    process.exitCode = err instanceof ApiError && err.status === 404 ? 3 : 2;
    return;
  }
  process.stderr.write(`ocelot: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
