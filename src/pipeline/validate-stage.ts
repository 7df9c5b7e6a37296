/**
 * One entry of `stages:`: name, script, env, timeout and the stage condition (new `triggers:` strings or the
 * legacy `trigger.branches`).
 */
import { parseBranchList } from './branch-list.js';
import { checkKeys, describeValue, isRecord, type CheckContext } from './check-context.js';
import { parseDuration } from './duration.js';
import { parseEnv } from './env.js';
import type { PathSegment } from './issues.js';
import { anyOf, describeCondition, parseTrigger } from './trigger.js';
import type { StageCondition, StageSpec } from './types.js';

export const STAGE_KEYS = ['name', 'script', 'env', 'trigger', 'triggers', 'timeout'] as const;

/** Keys other CIs use for the same idea. */
const STAGE_HINTS: Record<string, string> = {
  commands: 'script',
  run: 'script',
  steps: 'script',
  environment: 'env',
  variables: 'env',
  when: 'triggers',
  only: 'triggers',
  timeout_in_minutes: 'timeout',
};

function label(index: number, name: string | undefined): string {
  return name ? `stage ${index + 1} (${name})` : `stage ${index + 1}`;
}

function parseScript(ctx: CheckContext, value: unknown, path: PathSegment[], where: string): string[] {
  if (value === undefined) {
    ctx.error(path, `${where} has no script: add \`script:\` with a list of commands, one per item`);
    return [];
  }
  if (typeof value === 'string') {
    // Drone ran a block string line by line and broke `\`-continued commands (harness#2688); a list is unambiguous.
    ctx.error(
      path,
      `script must be a list of commands (one per item), in ${where}: write each command as \`- command\` ` +
        'on its own line; all items run in one bash, so multi-line constructs still work',
    );
    return [];
  }
  if (!Array.isArray(value)) {
    ctx.error(path, `script of ${where} is ${describeValue(value)}: give a list of commands, one per item`);
    return [];
  }
  if (value.length === 0) {
    ctx.error(path, `script of ${where} is empty: add at least one command`);
    return [];
  }
  const lines: string[] = [];
  value.forEach((item, i) => {
    if (typeof item === 'string' || typeof item === 'number' || typeof item === 'boolean') {
      lines.push(String(item));
    } else if (isRecord(item)) {
      ctx.error(
        [...path, i],
        `script item ${i + 1} of ${where} was read as a mapping because it contains \`: \`; quote the whole command`,
      );
    } else {
      ctx.error([...path, i], `script item ${i + 1} of ${where} is ${describeValue(item)}: write a command or remove the item`);
    }
  });
  return lines;
}

function parseTriggers(
  ctx: CheckContext,
  value: unknown,
  path: PathSegment[],
  where: string,
): { condition: StageCondition | null; text: string | null } {
  if (value === undefined || value === null) return { condition: null, text: null };
  if (!Array.isArray(value)) {
    ctx.error(
      path,
      `triggers of ${where} is ${describeValue(value)}: give a list of conditions, e.g. \`triggers: ['\\branch main']\``,
    );
    return { condition: null, text: null };
  }
  const conditions: StageCondition[] = [];
  const texts: string[] = [];
  value.forEach((entry, i) => {
    const p = [...path, i];
    if (typeof entry !== 'string') {
      ctx.error(p, `trigger ${i + 1} of ${where} is ${describeValue(entry)}: write a condition string such as \\branch main`);
      return;
    }
    const parsed = parseTrigger(entry);
    if (!parsed.ok) {
      ctx.push(p, ctx.locator.positionInString(p, parsed.column - 1), `in trigger "${entry}": ${parsed.message}`);
      return;
    }
    conditions.push(parsed.condition);
    texts.push(entry.trim());
  });
  // Strings are alternatives; `and` binds tighter than `or`, so joining with " or " keeps the meaning.
  return { condition: anyOf(conditions), text: texts.length ? texts.join(' or ') : null };
}

function parseLegacyTrigger(
  ctx: CheckContext,
  value: unknown,
  path: PathSegment[],
  where: string,
): { condition: StageCondition | null; text: string | null } {
  if (value === undefined || value === null) return { condition: null, text: null };
  if (!isRecord(value)) {
    ctx.error(path, `trigger of ${where} is ${describeValue(value)}: write \`trigger: {branches: [main]}\` or use \`triggers:\``);
    return { condition: null, text: null };
  }
  checkKeys(ctx, value, path, ['branches'], `the trigger of ${where}`);
  const patterns = parseBranchList(ctx, value['branches'], [...path, 'branches'], 'trigger.branches');
  // An empty list means "no restriction" (eccramer fixture), not "never run".
  if (patterns.length === 0) return { condition: null, text: null };
  const condition: StageCondition = { type: 'branch', patterns };
  return { condition, text: describeCondition(condition) };
}

export function parseStage(ctx: CheckContext, value: unknown, index: number): StageSpec | undefined {
  const path: PathSegment[] = ['stages', index];
  if (!isRecord(value)) {
    ctx.error(path, `stage ${index + 1} is ${describeValue(value)}: each stage is a mapping with \`name:\` and \`script:\``);
    return undefined;
  }
  const rawName = value['name'];
  let name: string | undefined;
  if (typeof rawName === 'string' && rawName.trim() !== '') name = rawName;
  else if (typeof rawName === 'number' || typeof rawName === 'boolean') name = String(rawName);
  else if (rawName === undefined || rawName === null || rawName === '') {
    ctx.error([...path, 'name'], `stage ${index + 1} has no name: add \`name:\`, e.g. \`name: test\``);
  } else {
    ctx.error([...path, 'name'], `name of stage ${index + 1} is ${describeValue(rawName)}: give a short string`);
  }
  const where = label(index, name);
  checkKeys(ctx, value, path, STAGE_KEYS, where, STAGE_HINTS);

  const script = parseScript(ctx, value['script'], [...path, 'script'], where);
  const env = parseEnv(ctx, value['env'], [...path, 'env']);

  // `triggers` wins over the legacy `trigger` when both are present, as in the original; legacy is still
  // validated so a typo there does not hide.
  const legacy = parseLegacyTrigger(ctx, value['trigger'], [...path, 'trigger'], where);
  const modern = parseTriggers(ctx, value['triggers'], [...path, 'triggers'], where);
  const chosen = modern.condition ? modern : legacy;

  const stage: StageSpec = {
    name: name ?? `stage ${index + 1}`,
    script,
    env,
    condition: chosen.condition,
    conditionText: chosen.text,
    position: ctx.locator.positionOf(path),
  };
  if (value['timeout'] !== undefined && value['timeout'] !== null) {
    const d = parseDuration(value['timeout']);
    if (d.ok) stage.timeoutSeconds = d.seconds;
    else {
      ctx.error(
        [...path, 'timeout'],
        `timeout of ${where} is not a duration: give seconds as a number (600) or a string like "90s", "10m", "1h"`,
      );
    }
  }
  return stage;
}
