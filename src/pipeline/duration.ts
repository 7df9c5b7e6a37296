/**
 * Stage `timeout:` values: a number of seconds, or a string like "90s", "10m", "1h", "1h30m".
 * Plain digits in a string ("600") also mean seconds, because YAML users quote numbers by habit.
 */

const UNIT_SECONDS: Record<string, number> = { h: 3600, m: 60, s: 1 };

export function parseDuration(value: unknown): { ok: true; seconds: number } | { ok: false } {
  if (typeof value === 'number') {
    return Number.isFinite(value) && value > 0 ? { ok: true, seconds: value } : { ok: false };
  }
  if (typeof value !== 'string') return { ok: false };
  const text = value.trim().toLowerCase();
  if (/^\d+(\.\d+)?$/.test(text)) {
    const seconds = Number(text);
    return seconds > 0 ? { ok: true, seconds } : { ok: false };
  }
  const match = /^(?:(\d+)h)?\s*(?:(\d+)m)?\s*(?:(\d+)s)?$/.exec(text);
  if (!match || text === '') return { ok: false };
  let seconds = 0;
  (['h', 'm', 's'] as const).forEach((unit, i) => {
    const n = match[i + 1];
    if (n !== undefined) seconds += Number(n) * (UNIT_SECONDS[unit] ?? 0);
  });
  return seconds > 0 ? { ok: true, seconds } : { ok: false };
}
