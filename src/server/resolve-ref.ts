/**
 * Resolves a branch head for `ocelot trigger --branch` with git itself (`git ls-remote`), so it works against any
 * git server the werkers can clone from, with no forge API credentials.
 */
import { execFile } from 'node:child_process';

export async function resolveBranchHead(cloneUrl: string, branch: string): Promise<string | null> {
  const out = await new Promise<string>((resolve, reject) => {
    execFile(
      'git',
      ['ls-remote', '--heads', '--', cloneUrl, `refs/heads/${branch}`],
      { timeout: 30_000, env: { ...process.env, GIT_TERMINAL_PROMPT: '0' } },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`git ls-remote failed: ${stderr.trim().split('\n').pop() ?? err.message}`));
        else resolve(stdout);
      },
    );
  });
  const line = out.split('\n').find((l) => l.endsWith(`\trefs/heads/${branch}`));
  return line ? line.split('\t')[0]! : null;
}
