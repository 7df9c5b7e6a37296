/**
 * Validation of the top level of ocelot.yml (and `notify:`), turning the plain value into a PipelineSpec.
 * Structure and meaning are checked in one hand-written pass so every message can say what to do; the
 * JSON Schema in schema.ts describes the same shape for editors, and a test keeps the two in agreement.
 */
import { parseBranchList } from './branch-list.js';
import { checkKeys, describeValue, isRecord, type CheckContext } from './check-context.js';
import { parseEnv } from './env.js';
import type { PathSegment } from './issues.js';
import type { NotifySpec, PipelineSpec, StageSpec } from './types.js';
import { checkNeedsImage, parseDockerSocket, parseResources } from './resources.js';
import { parseStage } from './validate-stage.js';

/** `packages` is accepted and ignored: the original parsed it and never used it. */
export const TOP_LEVEL_KEYS = [
  'image',
  'machineTag',
  'buildTool',
  'branches',
  'env',
  'stages',
  'notify',
  'resources',
  'dockerSocket',
  'packages',
] as const;

const TOP_LEVEL_HINTS: Record<string, string> = {
  jobs: 'stages',
  environment: 'env',
  variables: 'env',
  branch: 'branches',
  tag: 'machineTag',
  tags: 'machineTag',
  build_tool: 'buildTool',
  buildtool: 'buildTool',
  limits: 'resources',
  docker_socket: 'dockerSocket',
  dockersocket: 'dockerSocket',
};

function optionalString(
  ctx: CheckContext,
  obj: Record<string, unknown>,
  key: string,
  path: PathSegment[],
  advice: string,
): string | undefined {
  const v = obj[key];
  if (v === undefined) return undefined;
  if (typeof v === 'string' && v.trim() !== '') return v.trim();
  ctx.error([...path, key], `\`${key}\` is ${v === '' ? 'empty' : describeValue(v)}: ${advice}`);
  return undefined;
}

function parseNotify(ctx: CheckContext, value: unknown): NotifySpec | undefined {
  const path: PathSegment[] = ['notify'];
  if (value === undefined || value === null) return undefined;
  if (!isRecord(value)) {
    ctx.error(path, `notify is ${describeValue(value)}: write \`notify: {slack: {identifier: ..., on: [FAIL]}}\``);
    return undefined;
  }
  checkKeys(ctx, value, path, ['slack'], 'notify (only slack is supported)');
  const slack = value['slack'];
  if (slack === undefined || slack === null) return {};
  const sp: PathSegment[] = ['notify', 'slack'];
  if (!isRecord(slack)) {
    ctx.error(sp, `notify.slack is ${describeValue(slack)}: give a mapping with identifier, channel and on`);
    return {};
  }
  checkKeys(ctx, slack, sp, ['channel', 'identifier', 'on'], 'notify.slack');
  const channel = optionalString(ctx, slack, 'channel', sp, 'give a channel such as "#builds" or "@someone"');
  const identifier = optionalString(ctx, slack, 'identifier', sp, 'give the name of the Slack credential');
  if (slack['identifier'] === undefined) {
    ctx.error(sp, 'notify.slack needs `identifier:`, the name of the Slack webhook credential to post with');
  }
  // Absent `on` notifies on both outcomes: a notify block that never notifies would be a silent surprise.
  let on: Array<'PASS' | 'FAIL'> = ['PASS', 'FAIL'];
  const rawOn = slack['on'];
  if (rawOn !== undefined && rawOn !== null) {
    if (!Array.isArray(rawOn)) {
      ctx.error([...sp, 'on'], `notify.slack.on is ${describeValue(rawOn)}: give a list such as [PASS, FAIL]`);
    } else {
      on = [];
      rawOn.forEach((v, i) => {
        const upper = typeof v === 'string' ? v.trim().toUpperCase() : '';
        if (upper === 'PASS' || upper === 'FAIL') {
          if (!on.includes(upper)) on.push(upper);
        } else {
          ctx.error([...sp, 'on', i], `notify.slack.on entry ${JSON.stringify(v)} is not PASS or FAIL: use PASS, FAIL or both`);
        }
      });
    }
  }
  if (identifier === undefined) return {};
  return { slack: channel === undefined ? { identifier, on } : { channel, identifier, on } };
}

/** Validates the top-level mapping; returns the spec only when there are no issues. */
export function validatePipeline(ctx: CheckContext, top: Record<string, unknown>): PipelineSpec | undefined {
  checkKeys(ctx, top, [], TOP_LEVEL_KEYS, 'the top level', TOP_LEVEL_HINTS);

  const image = optionalString(ctx, top, 'image', [], 'give a Docker image such as golang:1.22, or remove the key to run on the host');
  const machineTag = optionalString(ctx, top, 'machineTag', [], 'give the tag of the werkers that should run this build');
  let buildTool: string | undefined;
  if (top['buildTool'] === undefined || top['buildTool'] === null) {
    ctx.error([], 'missing `buildTool`: add a line such as `buildTool: go` (free text naming your build tool, e.g. go, maven, node)');
  } else {
    buildTool = optionalString(ctx, top, 'buildTool', [], 'name your build tool, e.g. `buildTool: go`');
  }

  const branchList = parseBranchList(ctx, top['branches'], ['branches'], 'branches');
  // Absent and empty both mean "every branch builds" (the original built nothing, which nobody expects).
  const branches = branchList.length > 0 ? branchList : null;
  const env = parseEnv(ctx, top['env'], ['env']);

  const stages: StageSpec[] = [];
  const rawStages = top['stages'];
  if (rawStages === undefined || rawStages === null) {
    ctx.error([], 'missing `stages`: add a list of stages, each with `name:` and `script:`');
  } else if (!Array.isArray(rawStages)) {
    ctx.error(['stages'], `stages is ${describeValue(rawStages)}: give a list of stages, each starting with \`- name:\``);
  } else if (rawStages.length === 0) {
    ctx.error(['stages'], 'there must be at least one stage: add one with `name:` and `script:`');
  } else {
    rawStages.forEach((s, i) => {
      const stage = parseStage(ctx, s, i);
      if (stage) stages.push(stage);
    });
  }
  const notify = parseNotify(ctx, top['notify']);
  const resources = parseResources(ctx, top['resources']);
  const dockerSocket = parseDockerSocket(ctx, top['dockerSocket']);
  checkNeedsImage(ctx, top, top['image'] !== undefined && top['image'] !== null);

  if (ctx.issues.length > 0) return undefined;
  const spec: PipelineSpec = { branches, env, stages };
  if (image !== undefined) spec.image = image;
  if (machineTag !== undefined) spec.machineTag = machineTag;
  if (buildTool !== undefined) spec.buildTool = buildTool;
  if (notify?.slack) spec.notify = notify;
  if (resources && Object.keys(resources).length > 0) spec.resources = resources;
  if (dockerSocket === true) spec.dockerSocket = true;
  return spec;
}
