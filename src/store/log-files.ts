import path from 'node:path';

/**
 * Where the embedded log of one build attempt lives. Shared by the store (reads, idempotent writes) and the
 * in-process werker (which spools stage output straight into this file), so a log is written to disk once.
 */
export function attemptLogPath(logsDir: string, buildId: number, attempt: number): string {
  return path.join(logsDir, String(buildId), `${attempt}.log`);
}
