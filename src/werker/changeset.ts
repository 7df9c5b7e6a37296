/**
 * Fills in what the event did not carry, from the checkout itself, so `\text` and `\filepath` triggers work for
 * every event: Bitbucket pushes and pull requests carry no file list, CLI triggers carry no messages.
 *
 * The changed-files base, per event (documented in docs/pipeline.md):
 * - the payload's list when it has one (GitHub pushes);
 * - else `before..commit` when the push names a previous head that the fetched history contains;
 * - else the head commit against its first parent (a new branch, a pull request, a manual build).
 */
import { execFile } from 'node:child_process';
import type { BuildEvent } from '../events/model.js';

export async function completeChangeset(event: BuildEvent, dir: string, commit: string): Promise<Pick<BuildEvent, 'commitMessages' | 'changedFiles'>> {
  let commitMessages = event.commitMessages;
  let changedFiles = event.changedFiles;
  if (commitMessages.length === 0) {
    const message = await git(dir, ['log', '-1', '--format=%B', commit]);
    if (message !== null) commitMessages = [message.trim()];
  }
  if (changedFiles === null) {
    let out: string | null = null;
    if (event.before && (await git(dir, ['cat-file', '-e', `${event.before}^{commit}`])) !== null) {
      out = await git(dir, ['diff', '--name-only', event.before, commit]);
    }
    out ??= await git(dir, ['diff-tree', '--no-commit-id', '--name-only', '-r', '--root', commit]);
    if (out !== null) changedFiles = out.split('\n').filter(Boolean);
  }
  return { commitMessages, changedFiles };
}

function git(dir: string, args: string[]): Promise<string | null> {
  return new Promise((resolve) => {
    execFile('git', ['-C', dir, ...args], { timeout: 10_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout) => resolve(err ? null : stdout));
  });
}
