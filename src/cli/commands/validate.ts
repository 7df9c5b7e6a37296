/**
 * `ocelot validate [file] [--branch B]`: offline, with the same engine the werker uses.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parsePipeline, plan, formatIssue } from '../../pipeline/index.js';
import { paint } from '../format.js';
import { UsageError } from '../resolve.js';

export async function validateCommand(file: string | undefined, opts: { branch?: string; json?: boolean }): Promise<number> {
  const target = path.resolve(file ?? 'ocelot.yml');
  const stat = fs.statSync(target, { throwIfNoEntry: false });
  const filePath = stat?.isDirectory() ? path.join(target, 'ocelot.yml') : target;
  if (!fs.existsSync(filePath)) throw new UsageError(`${filePath}: no such file (give the path of an ocelot.yml or of a checkout)`);
  const name = path.basename(filePath);
  const text = fs.readFileSync(filePath, 'utf8');
  const parsed = parsePipeline(text, name);
  const notNamedRight = name !== 'ocelot.yml';
  if (!parsed.ok) {
    if (opts.json) process.stdout.write(`${JSON.stringify({ valid: false, issues: parsed.issues }, null, 2)}\n`);
    else for (const issue of parsed.issues) process.stdout.write(`${paint('red', '✗')} ${formatIssue(issue)}\n`);
    return 1;
  }
  const p = parsed.pipeline;
  const planned = opts.branch
    ? plan({ kind: 'push', branch: opts.branch, commitMessages: [], changedFiles: null }, p)
    : undefined;
  if (opts.json) {
    process.stdout.write(`${JSON.stringify({ valid: true, nameWarning: notNamedRight || undefined, pipeline: p, plan: planned }, null, 2)}\n`);
    return planned && !planned.build ? 2 : 0;
  }
  const out: string[] = [];
  if (notNamedRight) out.push(paint('yellow', `! ${name}: the server only reads a file named ocelot.yml at the repository root`));
  out.push(`${paint('green', '✓')} ${name} is valid: ${p.stages.length} stage(s), runtime ${p.image ? `docker (image ${p.image})` : 'host'}${p.machineTag ? `, werkers tagged ${p.machineTag}` : ''}`);
  for (const s of p.stages) out.push(`  - ${s.name}${s.conditionText ? paint('gray', `  (when ${s.conditionText})`) : ''}`);
  if (planned) {
    if (!planned.build) out.push(paint('yellow', `branch ${opts.branch} would not build: ${planned.reason}`));
    else {
      out.push(`on a push to ${opts.branch}:`);
      for (const s of planned.stages) out.push(`  ${s.run ? paint('green', 'run ') : paint('gray', 'skip')} ${s.name}${s.reason ? paint('gray', `  (${s.reason})`) : ''}`);
    }
  }
  process.stdout.write(`${out.join('\n')}\n`);
  return planned && !planned.build ? 2 : 0;
}
