/**
 * `env:` at the top level and per stage. Two spellings are accepted: the original list of "NAME=value"
 * strings (values may span lines) and a mapping {NAME: value}. Order is kept because the shell expands
 * later entries with earlier ones ("PATH=$PATH:$GOROOT/bin").
 */
import { describeValue, isRecord, type CheckContext } from './check-context.js';
import type { PathSegment } from './issues.js';
import type { EnvList } from './types.js';

const SHELL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function badName(name: string): string {
  return (
    `\`${name}\` is not a valid environment variable name: use letters, digits and underscores, ` +
    'not starting with a digit (e.g. `GO_VERSION`)'
  );
}

export function parseEnv(ctx: CheckContext, value: unknown, path: readonly PathSegment[]): EnvList {
  if (value === undefined || value === null) return [];
  const out: EnvList = [];
  if (Array.isArray(value)) {
    value.forEach((entry, i) => {
      const p = [...path, i];
      if (typeof entry !== 'string') {
        ctx.error(
          p,
          `env entry ${i + 1} is ${describeValue(entry)}: write it as a string "NAME=value"` +
            (isRecord(entry) ? ' (a `NAME: value` item inside a list is a mapping; drop the `- ` to use the mapping form)' : ''),
        );
        return;
      }
      const eq = entry.indexOf('=');
      if (eq <= 0) {
        ctx.error(p, `env entry "${entry}" has no NAME=: write it as "NAME=value"`);
        return;
      }
      const name = entry.slice(0, eq);
      if (!SHELL_NAME.test(name)) {
        ctx.error(p, badName(name));
        return;
      }
      out.push([name, entry.slice(eq + 1)]);
    });
    return out;
  }
  if (isRecord(value)) {
    for (const [name, v] of Object.entries(value)) {
      const p = [...path, name];
      if (!SHELL_NAME.test(name)) {
        ctx.keyError(p, badName(name));
        continue;
      }
      if (v === null) {
        out.push([name, '']);
      } else if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') {
        out.push([name, String(v)]);
      } else {
        ctx.error(p, `env value of ${name} is ${describeValue(v)}: give a string, number or boolean`);
      }
    }
    return out;
  }
  ctx.error(
    path,
    `env is ${describeValue(value)}: write a list of "NAME=value" strings or a mapping of NAME: value`,
  );
  return out;
}
