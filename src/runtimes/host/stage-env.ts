/**
 * The environment a host stage sees.
 *
 * A stage gets exactly the variables the werker computed for it (StageRun.env: build variables, then the file's
 * `env`, then the stage's `env`) on top of a SMALL allowlist taken from the werker's own environment, so that
 * builds find their tools (`PATH`), a home directory and a locale. Everything else of the werker's environment
 * stays out: in particular `OCELOT_ADMIN_TOKEN`, `OCELOT_WEBHOOK_SECRET`, database URLs and whatever else the
 * operator exported for the werker itself. A build must never read the werker's secrets by running `env`.
 */

/** Variables passed through from the werker's environment when set there (stage env wins on conflict). */
export const PASSTHROUGH_ENV: readonly string[] = ['PATH', 'HOME', 'LANG', 'USER', 'SHELL', 'TMPDIR'];

/** A PATH for werkers started with none (e.g. by a bare init system), so `bash` and coreutils are still found. */
const FALLBACK_PATH = '/usr/local/bin:/usr/bin:/bin';

export function stageEnvironment(
  stageEnv: ReadonlyArray<readonly [string, string]>,
  werkerEnv: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of PASSTHROUGH_ENV) {
    const value = werkerEnv[name];
    // Even an allowlisted name is dropped if it belongs to Ocelot's own namespace (cannot happen with the list
    // above, but keeps the rule "no OCELOT_* of the werker reaches a build" true if the list grows).
    if (value !== undefined && !name.startsWith('OCELOT_')) env[name] = value;
  }
  env.PATH ??= FALLBACK_PATH;
  // Later entries override earlier ones: the werker computed the precedence already.
  for (const [name, value] of stageEnv) env[name] = value;
  return env;
}
