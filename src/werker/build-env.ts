/**
 * The environment every stage sees, in precedence order: Ocelot's build variables, then the file's `env`,
 * then the stage's `env` (later entries win, and the shell sees them in this order).
 */
import type { BuildEvent } from '../events/model.js';

export interface BuildEnvInput {
  buildId: number;
  attempt: number;
  commit: string;
  event: BuildEvent;
  workspacePath: string;
  previousSuccessfulCommit: string | null;
}

export function buildVariables(input: BuildEnvInput): Array<[string, string]> {
  const { event } = input;
  const vars: Array<[string, string]> = [
    ['CI', 'true'],
    ['OCELOT', 'true'],
    ['GIT_HASH', input.commit],
    ['GIT_HASH_SHORT', input.commit.slice(0, 7)],
    ['GIT_BRANCH', event.branch ?? ''],
    ['BUILD_ID', String(input.buildId)],
    ['WORKSPACE', input.workspacePath],
    ['GIT_PREVIOUS_SUCCESSFUL_COMMIT', input.previousSuccessfulCommit ?? ''],
    ['OCELOT_BUILD_ATTEMPT', String(input.attempt)],
    ['OCELOT_EVENT', event.kind],
    ['OCELOT_REPO', `${event.account}/${event.repo}`],
    ['OCELOT_TRIGGERED_BY', event.sender],
  ];
  if (event.tag) vars.push(['GIT_TAG', event.tag]);
  if (event.pr) {
    vars.push(['OCELOT_PR_NUMBER', String(event.pr.number)]);
    vars.push(['OCELOT_PR_SOURCE_BRANCH', event.pr.sourceBranch]);
    vars.push(['OCELOT_PR_TARGET_BRANCH', event.pr.targetBranch]);
  }
  return vars;
}

/** Later entries override earlier ones with the same name; order of first appearance is kept. */
export function mergeEnv(...lists: Array<Array<[string, string]>>): Array<[string, string]> {
  const merged = new Map<string, string>();
  for (const list of lists) for (const [k, v] of list) merged.set(k, v);
  return [...merged.entries()];
}
