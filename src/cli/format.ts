/**
 * Human output: aligned columns and colors by state. Colors only on a TTY and never with NO_COLOR set.
 */
const useColor = () => !process.env.NO_COLOR && process.stdout.isTTY === true;

const CODES: Record<string, [number, number]> = {
  red: [31, 39],
  green: [32, 39],
  yellow: [33, 39],
  blue: [34, 39],
  gray: [90, 39],
  bold: [1, 22],
};

export function paint(color: keyof typeof CODES | undefined, text: string): string {
  if (!color || !useColor()) return text;
  const [open, close] = CODES[color]!;
  return `\u001b[${open}m${text}\u001b[${close}m`;
}

export function stateColor(state: string): keyof typeof CODES | undefined {
  switch (state) {
    case 'PASSED':
      return 'green';
    case 'FAILED':
    case 'FAILED_PRESTART':
      return 'red';
    case 'RUNNING':
    case 'QUEUED':
    case 'PENDING':
      return 'yellow';
    case 'CANCELLED':
    case 'SKIPPED':
      return 'gray';
    default:
      return undefined;
  }
}

export function colorState(state: string): string {
  return paint(stateColor(state), state);
}

/** C0 and C1 controls (ESC, newline, …), DEL, line/paragraph separators and bidi overrides. */
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * Text from the server made safe for a terminal: every control character is shown escaped (`\x1b`, `\n`,
 * `\u202e`) instead of being written, so a stored value can neither move the cursor, recolor the screen nor
 * forge a line of output. For cells of human output; `--json` needs none of it.
 */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, (c) => {
    const code = c.charCodeAt(0);
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    if (c === '\t') return '\\t';
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

const ANSI = /\u001b\[[0-9;]*m/g;
const visible = (s: string) => s.replace(ANSI, '').length;

/** Left-aligned table; cells may carry color codes. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(visible(h), ...rows.map((r) => visible(r[i] ?? ''))));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c + ' '.repeat(widths[i]! - visible(c))))
      .join('  ')
      .trimEnd();
  return [paint('bold', line(headers)), ...rows.map(line)].join('\n');
}

export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '-';
  if (ms < 1000) return `${ms}ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  return `${m}m${Math.round(s - m * 60)}s`;
}

export function when(iso: string | null): string {
  if (!iso) return '-';
  return iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}
