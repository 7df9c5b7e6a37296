/**
 * Container-only top-level keys: `resources:` (what the build may use) and `dockerSocket:` (ask for the engine
 * socket). Both only mean something in a container, so they require `image:`; a pipeline that sets them without
 * an image gets an error instead of limits that silently do nothing on the host.
 */
import { checkKeys, describeValue, isRecord, type CheckContext } from './check-context.js';
import type { ResourceRequest } from './types.js';

/** The engine refuses memory limits below 6 MiB; saying so here beats a setup failure at build time. */
export const MIN_MEMORY_BYTES = 6 * 1024 * 1024;

const UNIT_BYTES: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/**
 * Memory as Docker spells it (`512m`, `1g`, `1.5g`, `2GiB`; k/m/g are binary, as in `docker run -m`) or a
 * number of bytes. Returns undefined when the text is not a size.
 */
export function parseMemory(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value > 0 ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const m = /^(\d+(?:\.\d+)?)\s*([bkmgt]?)(?:i?b)?$/.exec(value.trim().toLowerCase());
  if (!m) return undefined;
  const bytes = Math.floor(Number(m[1]) * (UNIT_BYTES[m[2] ?? ''] ?? 1));
  return Number.isSafeInteger(bytes) && bytes > 0 ? bytes : undefined;
}

/** Human form of a byte count for messages and logs: 536870912 → "512 MiB". */
export function formatBytes(bytes: number): string {
  for (const [unit, size] of [['GiB', 1024 ** 3], ['MiB', 1024 ** 2], ['KiB', 1024]] as const) {
    if (bytes >= size) {
      const n = bytes / size;
      return `${Number.isInteger(n) ? n : n.toFixed(2).replace(/\.?0+$/, '')} ${unit}`;
    }
  }
  return `${bytes} B`;
}

export function parseResources(ctx: CheckContext, value: unknown): ResourceRequest | undefined {
  const path = ['resources'];
  if (value === undefined || value === null) return undefined;
  if (!isRecord(value)) {
    ctx.error(path, `resources is ${describeValue(value)}: write a mapping such as \`resources: {memory: 512m, cpus: 1.5, pids: 256}\``);
    return undefined;
  }
  checkKeys(ctx, value, path, ['memory', 'cpus', 'pids'], 'resources', { mem: 'memory', cpu: 'cpus', pidsLimit: 'pids' });
  const out: ResourceRequest = {};

  const memory = value['memory'];
  if (memory !== undefined && memory !== null) {
    const bytes = parseMemory(memory);
    if (bytes === undefined) {
      ctx.error([...path, 'memory'], `resources.memory is ${describeValue(memory)} that is not a size: write e.g. 512m, 2g or a number of bytes`);
    } else if (bytes < MIN_MEMORY_BYTES) {
      ctx.error([...path, 'memory'], `resources.memory is ${formatBytes(bytes)}: Docker needs at least 6 MiB (write e.g. 64m)`);
    } else {
      out.memoryBytes = bytes;
    }
  }

  const cpus = value['cpus'];
  if (cpus !== undefined && cpus !== null) {
    if (typeof cpus === 'number' && Number.isFinite(cpus) && cpus > 0) out.cpus = cpus;
    else ctx.error([...path, 'cpus'], `resources.cpus is ${describeValue(cpus)}: give a number of CPUs greater than 0, e.g. 1.5`);
  }

  const pids = value['pids'];
  if (pids !== undefined && pids !== null) {
    if (typeof pids === 'number' && Number.isSafeInteger(pids) && pids > 0) out.pids = pids;
    else ctx.error([...path, 'pids'], `resources.pids is ${describeValue(pids)}: give a whole number of processes greater than 0, e.g. 256`);
  }
  return out;
}

export function parseDockerSocket(ctx: CheckContext, value: unknown): boolean | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'boolean') return value;
  ctx.error(['dockerSocket'], `dockerSocket is ${describeValue(value)}: write \`dockerSocket: true\` to ask for the Docker engine socket, or remove the key`);
  return undefined;
}

/** `resources` / `dockerSocket` without `image`: the host runtime has no container to apply them to. */
export function checkNeedsImage(ctx: CheckContext, top: Record<string, unknown>, hasImage: boolean): void {
  if (hasImage) return;
  for (const key of ['resources', 'dockerSocket']) {
    // Presence alone, as the JSON Schema's `dependencies` sees it, so editors and the engine agree.
    if (!Object.prototype.hasOwnProperty.call(top, key)) continue;
    ctx.keyError([key], `\`${key}\` applies only to builds in a container: add \`image:\`, or remove \`${key}\``);
  }
}
