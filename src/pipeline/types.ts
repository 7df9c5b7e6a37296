/**
 * Types of the pipeline engine (parse → validate → plan). Pure: no I/O anywhere under src/pipeline/.
 */

/** A place in the pipeline file, 1-based, for error messages and the UI. */
export interface SourcePosition {
  line: number;
  column: number;
}

/** One problem found in a pipeline file. `message` says what is wrong and what to do. */
export interface PipelineIssue {
  file: string;
  line: number;
  column: number;
  message: string;
  /** JSON-pointer-like path of the offending node, e.g. `/stages/2/script`. */
  path: string;
}

/** Environment is ordered: later entries see earlier ones when the shell expands them, as in the original. */
export type EnvList = Array<[name: string, value: string]>;

export interface StageSpec {
  name: string;
  script: string[];
  env: EnvList;
  /** Compiled `triggers` (OR of directives) or the legacy `trigger.branches`; null = always runs. */
  condition: StageCondition | null;
  /** Original condition text, for display ("\branch master and \text deploy"). */
  conditionText: string | null;
  /** Optional stage timeout in seconds (`timeout:`), else the werker default. */
  timeoutSeconds?: number;
  position: SourcePosition;
}

export interface NotifySpec {
  slack?: { channel?: string; identifier: string; on: Array<'PASS' | 'FAIL'> };
}

/** `resources:` of a container build; the werker clamps each value to its own ceiling. */
export interface ResourceRequest {
  memoryBytes?: number;
  /** CPUs, fractions allowed (1.5). */
  cpus?: number;
  /** Max processes in the container. */
  pids?: number;
}

export interface PipelineSpec {
  image?: string;
  /** Only with `image`. */
  resources?: ResourceRequest;
  /** `dockerSocket: true`: the build asks for the engine socket (granted only if the werker allows it). */
  dockerSocket?: boolean;
  machineTag?: string;
  buildTool?: string;
  /** Anchored branch regexes (`ALL` = any). `null` when the key is absent (= every branch builds). */
  branches: string[] | null;
  env: EnvList;
  stages: StageSpec[];
  notify?: NotifySpec;
}

/** Trigger-language AST. Precedence: `and` binds tighter than `or` (like && and || in every language). */
export type StageCondition =
  | { type: 'or'; any: StageCondition[] }
  | { type: 'and'; all: StageCondition[] }
  | { type: 'branch'; patterns: string[] }
  | { type: 'text'; mode: 'any' | 'all'; values: string[] }
  | { type: 'filepath'; mode: 'any' | 'all'; values: string[] };

/** Result of parsing one `triggers:` string; `column` is 1-based inside that string. */
export type TriggerParseResult =
  | { ok: true; condition: StageCondition }
  | { ok: false; message: string; column: number };

/** What a stage condition is evaluated against (derived from PlanInput). */
export interface TriggerContext {
  /** Branch whose name `\branch` matches: the pushed branch, a PR's SOURCE branch; absent for tags. */
  branch?: string;
  /** Tag name for tag builds, only to explain why `\branch` does not match. */
  tag?: string;
  commitMessages: string[];
  /** null = the event carried no file list, so `\filepath` cannot match. */
  changedFiles: string[] | null;
}

/** Outcome of evaluating a condition; `explanation` says why it failed (or what matched). */
export interface ConditionOutcome {
  met: boolean;
  explanation: string;
}

export type ParseResult = { ok: true; pipeline: PipelineSpec } | { ok: false; issues: PipelineIssue[] };

/** What the planner needs to know about the event; a subset of BuildEvent so the engine stays independent. */
export interface PlanInput {
  kind: 'push' | 'tag' | 'pull_request' | 'manual' | 'api' | 'poll' | 'cron';
  branch?: string;
  tag?: string;
  /** For PRs: the target branch, which `branches` is matched against. */
  targetBranch?: string;
  commitMessages: string[];
  changedFiles: string[] | null;
  force?: boolean;
}

export interface PlannedStage {
  name: string;
  run: boolean;
  /** Why it will not run (only when run=false). */
  reason?: string;
}

export type Plan =
  | { build: true; stages: PlannedStage[] }
  | { build: false; reason: string; stages: PlannedStage[] };
