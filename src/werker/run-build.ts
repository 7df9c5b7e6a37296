/**
 * Runs one claimed build attempt from start to finish: workspace → validation → (setup) → user stages.
 *
 * Every step leaves a stage row with state, timing and a reason, and the build always ends in a final state
 * (or is handed back, or, when the lease is lost, is left to the server to recover). The werker never writes
 * once its lease is gone: every write goes through the lease-fenced client.
 */
import path from 'node:path';
import type { PipelineSpec, Plan } from '../pipeline/types.js';
import type { Runtime, RuntimeSession, StageOutput, StageResult } from '../runtimes/runtime.js';
import { RuntimeSetupError } from '../runtimes/runtime.js';
import { requestedLimits, type DockerRuntimeJob } from '../runtimes/docker/options.js';
import type { StageKind, StageState } from '../store/schema.js';
import { buildVariables, mergeEnv } from './build-env.js';
import type { BuildResultState, ClaimedBuild, StageRecord, WerkerServerClient } from './protocol.js';
import { LeaseLostError } from './protocol.js';
import { LogSpool } from './log-spool.js';
import { prepareWorkspace } from './workspace.js';
import { LeaseKeeper } from './lease-keeper.js';
import { AttemptReporter } from './attempt-reporter.js';
import { completeChangeset } from './changeset.js';
import { removeTree } from './remove-tree.js';
import { readFileSync } from 'node:fs';

export const PIPELINE_FILE = 'ocelot.yml';

export interface RunBuildOptions {
  client: WerkerServerClient;
  werkerId: string;
  werkerName: string;
  /** Labels this werker has: `tag:<t>` and `runtime:<r>`. */
  labels: string[];
  runtimes: Record<string, Runtime | undefined>;
  /** Why a runtime is missing (e.g. "no Docker engine answers at /var/run/docker.sock"), for the failure reason. */
  runtimeUnavailable?: (name: string) => string | undefined;
  /** What to do when this werker lacks a label the pipeline needs: embedded mode fails, distributed hands back. */
  whenUnsupported: 'fail' | 'hand-back';
  /** Directory for per-attempt log spool files (embedded: the store's logs dir, so logs are written once). */
  spoolPath: (buildId: number, attempt: number) => string;
  /** The spool file IS the server's log file (embedded): ship only the chunk index. */
  spoolIsServerLog?: boolean;
  /** How long stage changes and small log batches wait to be reported together (attempt-reporter.ts; default 250 ms). */
  reportLingerMs?: number;
  /** Bound of unacknowledged log bytes while the server is unreachable (default 256 MiB); past it the build stops. */
  spoolMaxUnackedBytes?: number;
  workDir: string;
  /** The werker's repository cache (git-cache.ts); unset = every build fetches over the network. */
  gitCacheDir?: string;
  cloneDepth: number;
  leaseMs: number;
  stageTimeoutMs: number;
  killGraceMs: number;
  /** Aborted when the werker shuts down: running stages stop and the build is handed back. */
  shutdown: AbortSignal;
  log?: (msg: string) => void;
}

interface StageSlot extends StageRecord {
  script?: string[];
  env?: Array<[string, string]>;
  timeoutMs?: number;
}

const WORKSPACE = 0;
const VALIDATION = 1;

export async function runBuild(claim: ClaimedBuild, opts: RunBuildOptions): Promise<void> {
  const { client, shutdown } = opts;
  const { lease, event } = claim;
  const stages: StageSlot[] = [
    { ordinal: WORKSPACE, name: 'workspace', kind: 'system', state: 'PENDING' },
    { ordinal: VALIDATION, name: 'validation', kind: 'system', state: 'PENDING' },
  ];

  // One abort for "stop now": cancel from the server, lost lease, or werker shutdown.
  const stop = new AbortController();
  let stopKind: 'cancel' | 'lost' | 'shutdown' | 'spool' | null = null;
  let spoolProblem = '';
  const onLost = (err: unknown) => {
    if (stopKind === 'lost') return;
    stopKind = 'lost';
    // Said once, here: the server has given this attempt up (or cannot be reached for a whole lease), so the
    // stage is killed and nothing more is written for it. Operators look for this line after a network cut.
    opts.log?.(`build ${lease.buildId} attempt ${lease.attempt}: lease lost (${errorText(err)}); stopping its stage, writing nothing more`);
    stop.abort();
  };
  const keeper = new LeaseKeeper(client, lease, opts.leaseMs, {
    onCancel: () => {
      if (!stopKind) stopKind = 'cancel';
      stop.abort();
    },
    onLost,
  });
  // Stage changes, log chunks and the result travel together in batched, fenced reports.
  const reporter = new AttemptReporter({ send: (r) => client.report(lease, r), onLost, lingerMs: opts.reportLingerMs });
  const onShutdown = () => {
    if (!stopKind) stopKind = 'shutdown';
    stop.abort();
  };
  if (shutdown.aborted) onShutdown();
  else shutdown.addEventListener('abort', onShutdown, { once: true });

  const spool = new LogSpool(opts.spoolPath(lease.buildId, lease.attempt), {
    onChunks: (chunks) => reporter.deliverChunks(chunks),
    indexOnly: opts.spoolIsServerLog === true,
    maxUnackedBytes: opts.spoolMaxUnackedBytes,
    onOverflow: (message) => {
      if (stopKind) return;
      stopKind = 'spool';
      spoolProblem = message;
      opts.log?.(`build ${lease.buildId} attempt ${lease.attempt}: ${message}`);
      stop.abort();
    },
  });
  const workspaceDir = path.join(opts.workDir, `${lease.buildId}-${lease.attempt}`);
  let session: RuntimeSession | undefined;
  // Labels learned from the plan; a build handed back at shutdown keeps them so only a matching werker claims it.
  let learnedRequires: string[] = claim.requires;

  const now = () => Date.now();
  const say = (ordinal: number, text: string) => spool.output(ordinal).write(`${text}\n`);
  // Neither waits for the server: the reporter sends the newest rows within its linger.
  const put = () => {
    for (const s of stages) reporter.stage(stripRunInfo(s));
  };
  const update = (s: StageSlot, patch: Partial<StageRecord>) => {
    Object.assign(s, patch);
    reporter.stage(stripRunInfo(s));
  };
  /** Give the build back to the queue: what this claim wrote is discarded there, so the log is not shipped. */
  const handBack = async (requires: string[], reason: string) => {
    reporter.holdForResult();
    await spool.drain().catch(() => undefined);
    await reporter.settle();
    await client.handBack(lease, requires, reason);
  };

  // Ends the attempt: remaining stages get a state and reason, logs are flushed, the result is stored.
  const finish = async (state: BuildResultState, reason: string | null, rest: { state: StageState; reason: string }) => {
    // Tear the container down before the final state is stored: a finished build has nothing left running, and
    // what teardown says (a kept container: how to enter it) still lands in the log while the lease holds.
    await session?.destroy().catch((err) => opts.log?.(`build ${lease.buildId}: cleanup failed: ${errorText(err)}`));
    for (const s of stages) {
      if (s.state === 'PENDING' || s.state === 'RUNNING') {
        s.state = s.state === 'RUNNING' ? (rest.state === 'SKIPPED' ? 'FAILED' : rest.state) : rest.state;
        s.reason ??= rest.reason;
        s.finishedAt ??= now();
      }
    }
    // The rest of the log, every stage row and the result go in one report.
    reporter.holdForResult();
    await spool.drain();
    put();
    await reporter.finish(state, reason);
  };

  try {
    keeper.start();
    put();

    // --- workspace: clone at the exact commit -------------------------------------------------------------
    const ws = stages[WORKSPACE]!;
    update(ws, { state: 'RUNNING', startedAt: now() });
    spool.setStage(WORKSPACE);
    let commit: string;
    try {
      say(WORKSPACE, `Fetching ${redactUrl(event.cloneUrl)} at ${event.commit} on werker ${opts.werkerName}`);
      const result = await prepareWorkspace({
        cloneUrl: event.cloneUrl,
        commit: event.commit,
        branch: event.branch,
        dir: workspaceDir,
        depth: opts.cloneDepth,
        ...(opts.gitCacheDir ? { cacheDir: opts.gitCacheDir } : {}),
        output: spool.output(WORKSPACE),
        signal: stop.signal,
      });
      commit = result.commit;
      update(ws, { state: 'PASSED', finishedAt: now(), messages: [`checked out ${commit}`] });
    } catch (err) {
      if (stop.signal.aborted) return await endStopped();
      const reason = errorText(err);
      say(WORKSPACE, reason);
      update(ws, { state: 'FAILED', finishedAt: now(), reason });
      return await finish('FAILED', `workspace: ${reason}`, { state: 'SKIPPED', reason: 'not run: the workspace could not be prepared' });
    }

    // --- validation: read, parse and plan the pipeline at that commit -------------------------------------
    const val = stages[VALIDATION]!;
    update(val, { state: 'RUNNING', startedAt: now() });
    spool.setStage(VALIDATION);
    const loaded = await loadPipeline(workspaceDir);
    if (!loaded.ok) {
      for (const m of loaded.messages) say(VALIDATION, m);
      update(val, { state: 'FAILED', finishedAt: now(), reason: loaded.messages[0] ?? 'invalid pipeline', messages: loaded.messages });
      const more = loaded.messages.length > 1 ? ` (and ${loaded.messages.length - 1} more)` : '';
      return await finish('FAILED_PRESTART', `${loaded.messages[0]}${more}`, { state: 'SKIPPED', reason: 'not run: the pipeline is invalid' });
    }
    const pipeline = loaded.pipeline;
    const changes = await completeChangeset(event, workspaceDir, commit);
    const plan = (await engine()).plan(
      {
        kind: event.kind,
        branch: event.branch,
        tag: event.tag,
        targetBranch: event.pr?.targetBranch,
        commitMessages: changes.commitMessages,
        changedFiles: changes.changedFiles,
        force: event.force,
      },
      pipeline,
    );

    // What this pipeline needs from a werker.
    const runtimeName = pipeline.image ? 'docker' : 'host';
    const requires = [`runtime:${runtimeName}`, ...(pipeline.machineTag ? [`tag:${pipeline.machineTag}`] : [])];
    learnedRequires = requires;
    const missing = requires.filter((l) => !opts.labels.includes(l));
    if (plan.build && missing.length > 0) {
      const why = describeMissing(missing, opts);
      if (opts.whenUnsupported === 'hand-back') {
        say(VALIDATION, `This werker cannot run this pipeline (${why}); handing it back to the queue.`);
        await handBack(requires, `waiting for a werker with ${requires.join(', ')}: ${why}`);
        return;
      }
      update(val, { state: 'FAILED', finishedAt: now(), reason: why });
      return await finish('FAILED_PRESTART', why, { state: 'SKIPPED', reason: 'not run: no werker can run this pipeline' });
    }

    addPlannedStages(stages, pipeline, plan, runtimeName === 'docker', opts.stageTimeoutMs);
    const runnable = plan.stages.filter((s) => s.run).length;
    const planLine = plan.build
      ? `Pipeline valid: ${pipeline.stages.length} stage(s), ${runnable} to run, runtime ${runtimeName}`
      : `Nothing to build: ${plan.reason}`;
    say(VALIDATION, planLine);
    Object.assign(val, { state: 'PASSED', finishedAt: now(), messages: [planLine] });
    put();
    if (!plan.build) {
      return await finish('SKIPPED', plan.reason, { state: 'SKIPPED', reason: plan.reason });
    }

    // --- setup: runtime environment (container) -------------------------------------------------------------
    const runtime = opts.runtimes[runtimeName]!;
    const setup = stages.find((s) => s.name === 'setup' && s.kind === 'system');
    const setupOutput = spool.output(setup?.ordinal ?? VALIDATION);
    try {
      if (setup) {
        update(setup, { state: 'RUNNING', startedAt: now() });
        spool.setStage(setup.ordinal);
      }
      const job: DockerRuntimeJob = {
        buildId: lease.buildId,
        attempt: lease.attempt,
        werkerId: opts.werkerId,
        workspaceHostPath: workspaceDir,
        image: pipeline.image,
        keepContainer: claim.keepContainer,
        // Container-only requests; the docker runtime clamps them to the werker's ceiling, the host ignores them.
        limits: requestedLimits(pipeline.resources),
        allowDockerSocket: pipeline.dockerSocket === true,
      };
      session = await runtime.prepare(job, setupOutput, stop.signal);
      if (setup) update(setup, { state: 'PASSED', finishedAt: now() });
    } catch (err) {
      if (stop.signal.aborted) return await endStopped();
      const reason = err instanceof RuntimeSetupError ? err.message : `setup failed: ${errorText(err)}`;
      setupOutput.write(`${reason}\n`);
      if (setup) update(setup, { state: 'FAILED', finishedAt: now(), reason });
      return await finish('FAILED', reason, { state: 'SKIPPED', reason: 'not run: setup failed' });
    }

    // --- the user's stages, in order ------------------------------------------------------------------------
    const baseEnv = mergeEnv(
      buildVariables({
        buildId: lease.buildId,
        attempt: lease.attempt,
        commit,
        event,
        workspacePath: session.workspacePath,
        previousSuccessfulCommit: claim.previousSuccessfulCommit,
      }),
      pipeline.env,
    );
    for (const s of stages) {
      if (s.kind !== 'user' || s.state !== 'PENDING') continue;
      if (stop.signal.aborted) break;
      update(s, { state: 'RUNNING', startedAt: now() });
      spool.setStage(s.ordinal);
      const result: StageResult = await session.runStage({
        name: s.name,
        script: s.script ?? [],
        env: mergeEnv(baseEnv, s.env ?? []),
        timeoutMs: s.timeoutMs ?? opts.stageTimeoutMs,
        killGraceMs: opts.killGraceMs,
        output: spool.output(s.ordinal),
        signal: stop.signal,
      });
      if (stop.signal.aborted && result.state !== 'PASSED') {
        s.exitCode = result.exitCode;
        return await endStopped(s);
      }
      update(s, {
        state: result.state,
        exitCode: result.exitCode,
        finishedAt: now(),
        reason: result.reason ?? null,
      });
      if (result.state !== 'PASSED') {
        const reason = `stage '${s.name}' failed: ${result.reason ?? `exit code ${result.exitCode}`}`;
        return await finish('FAILED', reason, { state: 'SKIPPED', reason: `not run: stage '${s.name}' failed` });
      }
    }
    if (stop.signal.aborted) return await endStopped();
    return await finish('PASSED', null, { state: 'SKIPPED', reason: 'not run' });
  } catch (err) {
    if (err instanceof LeaseLostError || stopKind === 'lost') {
      opts.log?.(`build ${lease.buildId} attempt ${lease.attempt}: lease lost, stopped (${errorText(err)})`);
      return;
    }
    // A crash anywhere still leaves a reason in the database.
    const reason = `werker error: ${errorText(err)}`;
    opts.log?.(`build ${lease.buildId}: ${reason}`);
    try {
      await finish('FAILED', reason, { state: 'FAILED', reason });
    } catch {
      // What the server refused may be the log itself: the result must get through even without it.
      reporter.abandonLog();
      try {
        await finish('FAILED', reason, { state: 'FAILED', reason });
      } catch (finishErr) {
        opts.log?.(`build ${lease.buildId}: could not record the failure: ${errorText(finishErr)}`);
      }
    }
  } finally {
    shutdown.removeEventListener('abort', onShutdown);
    keeper.stop();
    await session?.destroy().catch((err) => opts.log?.(`build ${lease.buildId}: cleanup failed: ${errorText(err)}`));
    await spool.close().catch(() => undefined);
    if (!claim.keepContainer) await removeTree(workspaceDir).catch(() => undefined);
  }

  /** The build was stopped from outside: cancelled (final), lost (silent) or shutting down (handed back). */
  async function endStopped(current?: StageSlot): Promise<void> {
    if (stopKind === 'lost') return;
    if (stopKind === 'spool') {
      // The result and the log reach the server once it answers again (finish drains the spool first).
      if (current) {
        current.state = 'FAILED';
        current.reason = spoolProblem;
        current.finishedAt = now();
        say(current.ordinal, spoolProblem);
      }
      await finish('FAILED', spoolProblem, { state: 'SKIPPED', reason: 'not run: log shipping failed' });
      return;
    }
    if (stopKind === 'shutdown') {
      if (current) say(current.ordinal, 'The werker is shutting down: this build goes back to the queue.');
      await handBack(learnedRequires, `werker ${opts.werkerName} shut down; the build was handed back`);
      return;
    }
    const reason = keeper.cancelReason ?? 'cancelled';
    if (current) {
      current.state = 'CANCELLED';
      current.reason = reason;
      current.finishedAt = now();
      say(current.ordinal, `Cancelled: ${reason}`);
    }
    await finish('CANCELLED', reason, { state: 'CANCELLED', reason: `not run: ${reason}` });
  }
}

/**
 * The pipeline engine, loaded with the first build rather than at start: its YAML parser is a good part of an idle
 * werker's memory, and a werker that never builds should not pay for it.
 */
const engine = () => import('../pipeline/index.js');

async function loadPipeline(dir: string): Promise<{ ok: true; pipeline: PipelineSpec } | { ok: false; messages: string[] }> {
  let text: string;
  try {
    // Synchronous: a small file, read faster directly than through the thread pool.
    text = readFileSync(path.join(dir, PIPELINE_FILE), 'utf8');
  } catch {
    return { ok: false, messages: [`${PIPELINE_FILE}: not found at the root of the repository at this commit; add one (see docs/pipeline.md)`] };
  }
  const { parsePipeline, formatIssue } = await engine();
  const parsed = parsedPipelines.get(text) ?? parsePipeline(text, PIPELINE_FILE);
  remember(parsedPipelines, text, parsed, 32);
  if (!parsed.ok) return { ok: false, messages: parsed.issues.map(formatIssue) };
  return { ok: true, pipeline: parsed.pipeline };
}

/**
 * Parse results by file content: a repository builds the same ocelot.yml over and over, and parsing (YAML with
 * positions, schema, triggers) is a good part of what a short build costs the werker. The engine is pure and
 * nothing downstream changes what it returned, so the same text may share one result.
 */
const parsedPipelines = new Map<string, ReturnType<Awaited<ReturnType<typeof engine>>['parsePipeline']>>();

/** A small LRU over a Map (insertion order): the newest use goes last, the oldest falls out. */
function remember<K, V>(map: Map<K, V>, key: K, value: V, max: number): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > max) map.delete(map.keys().next().value as K);
}

function addPlannedStages(stages: StageSlot[], pipeline: PipelineSpec, plan: Plan, withSetup: boolean, defaultTimeoutMs: number) {
  if (withSetup) stages.push({ ordinal: stages.length, name: 'setup', kind: 'system', state: 'PENDING' });
  pipeline.stages.forEach((spec, i) => {
    const planned = plan.stages[i];
    const run = plan.build && planned?.run !== false;
    const kind: StageKind = 'user';
    stages.push({
      ordinal: stages.length,
      name: spec.name,
      kind,
      state: run ? 'PENDING' : 'SKIPPED',
      reason: run ? null : planned?.reason ?? (plan.build ? null : plan.reason),
      script: spec.script,
      env: spec.env,
      timeoutMs: spec.timeoutSeconds ? spec.timeoutSeconds * 1000 : defaultTimeoutMs,
    });
  });
}

function describeMissing(missing: string[], opts: RunBuildOptions): string {
  return missing
    .map((label) => {
      const [kind, value] = label.split(':', 2) as [string, string];
      if (kind === 'runtime') {
        const why = opts.runtimeUnavailable?.(value);
        return `this pipeline needs the ${value} runtime, which werker ${opts.werkerName} cannot run${why ? `: ${why}` : ''}`;
      }
      return `this pipeline needs a werker with machineTag '${value}'; werker ${opts.werkerName} has tags [${opts.labels
        .filter((l) => l.startsWith('tag:'))
        .map((l) => l.slice(4))
        .join(', ')}]`;
    })
    .join('; ');
}

function stripRunInfo(s: StageSlot): StageRecord {
  const { script: _script, env: _env, timeoutMs: _timeout, ...record } = s;
  return record;
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Never print credentials embedded in a clone URL. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/[^/@]+@/, '//***@');
}

export type { StageOutput };
