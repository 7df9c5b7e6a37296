/**
 * `ocelot run [dir]`: the pipeline of a local checkout, with the same engine and runtimes as a werker, no
 * server. Stages run in the checkout itself (not a copy) so you test exactly what is in front of you; output
 * goes straight to the terminal.
 */
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { parsePipeline, plan, formatIssue } from '../../pipeline/index.js';
import { RuntimeSetupError, type Runtime, type RuntimeSession, type StageOutput } from '../../runtimes/runtime.js';
import { createHostRuntime } from '../../runtimes/host/index.js';
import { requestedLimits, type DockerRuntimeJob } from '../../runtimes/docker/options.js';
import { buildVariables, mergeEnv } from '../../werker/build-env.js';
import { colorState, duration, paint, table } from '../format.js';
import { UsageError } from '../resolve.js';

export interface RunOptions {
  runtime?: string;
  branch?: string;
  json?: boolean;
  stageTimeout?: string;
}

export async function runCommand(dir: string | undefined, opts: RunOptions): Promise<number> {
  const root = path.resolve(dir ?? '.');
  const file = path.join(root, 'ocelot.yml');
  if (!fs.existsSync(file)) throw new UsageError(`${file}: not found; ocelot run needs a checkout with an ocelot.yml at its root`);
  const parsed = parsePipeline(fs.readFileSync(file, 'utf8'), 'ocelot.yml');
  if (!parsed.ok) {
    for (const issue of parsed.issues) process.stderr.write(`${formatIssue(issue)}\n`);
    return 1;
  }
  const pipeline = parsed.pipeline;
  const git = (args: string[]) => {
    try {
      return execFileSync('git', ['-C', root, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return '';
    }
  };
  const commit = git(['rev-parse', 'HEAD']) || '0'.repeat(40);
  const branch = opts.branch ?? (git(['rev-parse', '--abbrev-ref', 'HEAD']) || 'local');
  const message = git(['log', '-1', '--format=%B']);
  const changed = git(['diff-tree', '--no-commit-id', '--name-only', '-r', 'HEAD']);
  const planned = plan({ kind: 'manual', branch, commitMessages: message ? [message] : [], changedFiles: changed ? changed.split('\n') : null, force: true }, pipeline);

  const runtimeName = opts.runtime ?? (pipeline.image ? 'docker' : 'host');
  const runtime: Runtime = runtimeName === 'docker' ? await loadDockerRuntime() : createHostRuntime();
  // With --json, stdout carries only the result document; the stages' own output goes to stderr.
  const out = opts.json ? process.stderr : process.stdout;
  const output: StageOutput = { fd: opts.json ? 2 : 1, write: (d) => void out.write(d) };
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once('SIGINT', onSigint);

  const results: Array<{ name: string; state: string; exitCode: number | null; durationMs: number | null; reason?: string }> = [];
  let session: RuntimeSession | undefined;
  let failed = false;
  try {
    const job: DockerRuntimeJob = {
      buildId: 0,
      attempt: 1,
      werkerId: 'local',
      workspaceHostPath: root,
      image: pipeline.image,
      limits: requestedLimits(pipeline.resources),
      allowDockerSocket: pipeline.dockerSocket === true,
    };
    const setupStarted = Date.now();
    try {
      session = await runtime.prepare(job, output, controller.signal);
    } catch (err) {
      // No engine, a missing image: a result like a failing stage (with the reason), not a crash.
      if (!(err instanceof RuntimeSetupError)) throw err;
      out.write(`${err.message}\n`);
      results.push({ name: 'setup', state: 'FAILED', exitCode: null, durationMs: Date.now() - setupStarted, reason: err.message });
      failed = true;
    }
    const baseEnv = mergeEnv(
      buildVariables({
        buildId: 0,
        attempt: 1,
        commit,
        event: { forge: 'local', kind: 'manual', account: 'local', repo: path.basename(root), cloneUrl: root, commit, branch, commitMessages: [], changedFiles: null, sender: `cli:${process.env.USER ?? 'local'}` },
        workspacePath: session?.workspacePath ?? root,
        previousSuccessfulCommit: null,
      }),
      pipeline.env,
    );
    for (const [i, stage] of pipeline.stages.entries()) {
      const p = planned.stages[i];
      if (!session || failed || controller.signal.aborted || (p && !p.run)) {
        const reason = !session ? 'not run: setup failed' : failed ? 'an earlier stage failed' : p?.reason;
        results.push({ name: stage.name, state: 'SKIPPED', exitCode: null, durationMs: null, reason });
        continue;
      }
      out.write(paint('blue', `── ${stage.name} ──\n`));
      const started = Date.now();
      const r = await session.runStage({
        name: stage.name,
        script: stage.script,
        env: mergeEnv(baseEnv, stage.env),
        timeoutMs: stage.timeoutSeconds ? stage.timeoutSeconds * 1000 : Number(opts.stageTimeout ?? 3600) * 1000,
        killGraceMs: 10_000,
        output,
        signal: controller.signal,
      });
      results.push({ name: stage.name, state: r.state, exitCode: r.exitCode, durationMs: Date.now() - started, reason: r.reason });
      if (r.state !== 'PASSED') failed = true;
    }
  } finally {
    process.off('SIGINT', onSigint);
    await session?.destroy();
  }
  const passed = !failed && !controller.signal.aborted;
  if (opts.json) process.stdout.write(`${JSON.stringify({ passed, stages: results }, null, 2)}\n`);
  else {
    process.stdout.write(`\n${table(['STAGE', 'STATE', 'EXIT', 'TIME', 'REASON'], results.map((r) => [r.name, colorState(r.state), r.exitCode === null ? '-' : String(r.exitCode), duration(r.durationMs), r.reason ?? '']))}\n`);
    process.stdout.write(`${passed ? colorState('PASSED') : colorState('FAILED')}\n`);
  }
  return passed ? 0 : 1;
}

async function loadDockerRuntime(): Promise<Runtime> {
  const { localDockerRuntime } = await import('../../embedded/docker-provider.js');
  return localDockerRuntime();
}
