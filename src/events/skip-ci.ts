/**
 * `[skip ci]` / `[ci skip]` in a pushed commit message skips the build (case-insensitive). Checked at intake so
 * the webhook answer can say why nothing runs, and the build is recorded SKIPPED with that reason.
 */
const MARKER = /\[(skip ci|ci skip)\]/i;

export function findSkipCi(messages: readonly string[]): { marker: string; message: string } | null {
  for (const message of messages) {
    const m = MARKER.exec(message);
    if (m) return { marker: m[0], message: (message.split('\n')[0] ?? '').trim() };
  }
  return null;
}
