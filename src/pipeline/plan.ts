/**
 * Decides, for one event and one validated pipeline, whether to build and which stages run. Pure and
 * deterministic: the same input always gives the same plan, and every "no" carries a reason that is stored
 * on the SKIPPED build or stage.
 */
import { branchMatches } from './branch-pattern.js';
import { evaluateCondition } from './trigger-eval.js';
import type { PipelineSpec, Plan, PlanInput, PlannedStage, TriggerContext } from './types.js';

const SKIP_MARKER = /\[(?:skip ci|ci skip)\]/i;

function firstLine(message: string): string {
  return (message.split(/\r?\n/)[0] ?? '').trim();
}

/** Reason to skip the whole build because of a [skip ci] marker, or undefined. */
function skipCiReason(messages: readonly string[]): string | undefined {
  for (const msg of messages) {
    const m = SKIP_MARKER.exec(msg);
    if (m) return `commit message contains ${m[0]}: "${firstLine(msg)}" (trigger with --force to build anyway)`;
  }
  return undefined;
}

/**
 * Reason the top-level `branches` filter refuses the event, or undefined. Pushes and manual builds match
 * their branch; pull requests their TARGET branch (the branch being protected); tags are never filtered,
 * because a tag has no branch and a filter would silently block every release (woodpecker#581).
 */
function branchesReason(input: PlanInput, branches: string[] | null): string | undefined {
  if (branches === null || input.kind === 'tag') return undefined;
  const list = branches.join(', ');
  if (input.kind === 'pull_request') {
    const target = input.targetBranch ?? input.branch;
    if (target === undefined) return `the pull request has no target branch to match against branches: ${list}`;
    return branchMatches(branches, target)
      ? undefined
      : `branch ${target} (the pull request's target) is not in branches: ${list}`;
  }
  if (input.branch === undefined) {
    return `this build has no branch to match against branches: ${list} (trigger with --force to build anyway)`;
  }
  return branchMatches(branches, input.branch) ? undefined : `branch ${input.branch} is not in branches: ${list}`;
}

function triggerContext(input: PlanInput): TriggerContext {
  const ctx: TriggerContext = { commitMessages: input.commitMessages, changedFiles: input.changedFiles };
  // `\branch` sees the branch the code is on: for a PR its source branch (input.branch); a tag has none.
  if (input.kind !== 'tag' && input.branch !== undefined) ctx.branch = input.branch;
  if (input.tag !== undefined) ctx.tag = input.tag;
  return ctx;
}

export function plan(input: PlanInput, pipeline: PipelineSpec): Plan {
  if (!input.force) {
    const reason = skipCiReason(input.commitMessages) ?? branchesReason(input, pipeline.branches);
    if (reason !== undefined) {
      return {
        build: false,
        reason,
        stages: pipeline.stages.map((s) => ({ name: s.name, run: false, reason: `build skipped: ${reason}` })),
      };
    }
  }
  const ctx = triggerContext(input);
  const stages: PlannedStage[] = pipeline.stages.map((s) => {
    if (s.condition === null) return { name: s.name, run: true };
    const outcome = evaluateCondition(s.condition, ctx);
    return outcome.met ? { name: s.name, run: true } : { name: s.name, run: false, reason: `trigger not met: ${outcome.explanation}` };
  });
  return { build: true, stages };
}
