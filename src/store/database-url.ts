/**
 * A database URL as it may be shown (server banner, connection errors, "unsupported URL"): never its secrets.
 * The one place that decides what is secret in one, so every message that names the database goes through here.
 *
 * Masked as `***`: the password of `user:pw@`, and the value of every query parameter that carries a secret or
 * points at one — `password`, `sslpassword`, `sslkey`, `passfile` and any name with pass/secret/token/key in it
 * (libpq and pg both read `?password=` as the password). Something that is not a URL — a libpq key=value conninfo
 * string `host=… password=…` above all — is never echoed: it is described instead.
 */

/** Query parameters whose values are secrets, or paths to them. */
const SECRET_PARAM = /pass|secret|token|key/i;

const MASK = '***';

export function redactDatabaseUrl(url: string): string {
  const text = url.trim();
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    return notAUrl(text);
  }
  if (u.password) u.password = MASK;
  if (u.search) u.search = `?${maskQuery(u.search.slice(1))}`;
  // Nothing belongs in a database URL's fragment: whatever is there is not shown.
  if (u.hash) u.hash = MASK;
  // `postgres://u:12/34@db/x`, an unescaped slash in a password, parses as port 12 and path /34@db/x: everything
  // up to the last @ was the user's part.
  const at = u.pathname.lastIndexOf('@');
  if (at >= 0) return `${u.protocol}//${MASK}@${u.pathname.slice(at + 1)}${u.search}${u.hash}`;
  return u.toString();
}

/**
 * `text` (a driver's error message) with every secret of `url` in it masked: a driver may quote a value from the
 * URL (the sslkey file it could not open). For messages that are not built here.
 */
export function maskDatabaseSecrets(text: string, url: string): string {
  let out = text;
  for (const secret of databaseSecrets(url).sort((a, b) => b.length - a.length)) out = out.split(secret).join(MASK);
  return out;
}

/** The secret values in `url`: its password and the values of secret query parameters, raw and decoded. */
function databaseSecrets(url: string): string[] {
  const found = new Set<string>();
  const add = (raw: string) => {
    if (raw.length < 3) return; // masking "a" everywhere would garble the message and hide nothing
    found.add(raw);
    const decoded = decode(raw);
    if (decoded.length >= 3) found.add(decoded);
  };
  try {
    const u = new URL(url.trim());
    if (u.password) add(u.password);
    for (const part of u.search.slice(1).split('&')) {
      const eq = part.indexOf('=');
      if (eq > 0 && SECRET_PARAM.test(decode(part.slice(0, eq)))) add(part.slice(eq + 1));
    }
  } catch {
    // Not a URL: nothing of it is shown anywhere, so there is nothing to mask.
  }
  return [...found];
}

function maskQuery(query: string): string {
  return query
    .split('&')
    .map((part) => {
      const eq = part.indexOf('=');
      const name = eq < 0 ? part : part.slice(0, eq);
      return eq >= 0 && SECRET_PARAM.test(decode(name)) ? `${name}=${MASK}` : part;
    })
    .join('&');
}

/** Never the text itself: a conninfo string carries its password in clear, and a broken URL may too. */
function notAUrl(text: string): string {
  if (/^\s*[a-z_][a-z0-9_]*\s*=/i.test(text)) return '(a key=value connection string, not a URL; not shown)';
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(text)?.[1];
  return scheme ? `(a ${scheme}: address that does not parse as a URL; not shown)` : '(not a URL; not shown)';
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
}
