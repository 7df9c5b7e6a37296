/** The engine's own words from a dockerode error, without the "(HTTP code 500) server error -" wrapping. */
export function engineMessage(err: unknown): string {
  if (err && typeof err === 'object') {
    const e = err as { json?: unknown; message?: unknown; statusCode?: unknown };
    if (e.json && typeof e.json === 'object' && typeof (e.json as { message?: unknown }).message === 'string') {
      return (e.json as { message: string }).message.trim();
    }
    if (typeof e.json === 'string' && e.json.trim()) return e.json.trim();
    // Some endpoints (pull) leave json null and fold the engine's text into the message after this prefix.
    if (typeof e.message === 'string') return e.message.replace(/^\(HTTP code \d+\) [^-]*- /, '').trim();
  }
  return String(err);
}

/** HTTP status of a dockerode error, if it came from the engine. */
export function engineStatus(err: unknown): number | undefined {
  if (err && typeof err === 'object' && typeof (err as { statusCode?: unknown }).statusCode === 'number') {
    return (err as { statusCode: number }).statusCode;
  }
  return undefined;
}
