/**
 * Clone URLs may carry credentials (`https://x-token-auth:TOKEN@bitbucket.org/…`). They are used to fetch and
 * never printed: every text that reaches a log or an error goes through the masker built here.
 */

export interface UrlSecrets {
  /** The URL with user and password removed, for display and for the workspace's `origin`. */
  clean: string;
  mask(text: string): string;
}

const USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@]+@/gi;

export function urlSecrets(url: string): UrlSecrets {
  const secrets: string[] = [];
  let clean = url;
  try {
    const u = new URL(url);
    for (const part of [u.password, u.username]) {
      if (!part) continue;
      secrets.push(part);
      try {
        const decoded = decodeURIComponent(part);
        if (decoded !== part) secrets.push(decoded);
      } catch {
        // not percent-encoded
      }
    }
    if (u.username || u.password) {
      u.username = '';
      u.password = '';
      clean = u.toString();
    }
  } catch {
    // scp-like (git@host:path) or a local path: no URL credentials to hide
  }
  // A bare username ("git", "x-token-auth") is not secret by itself, but short strings would mask half the log;
  // only mask values long enough to be credentials.
  const masked = secrets.filter((s) => s.length >= 6).sort((a, b) => b.length - a.length);
  return {
    clean,
    mask(text: string): string {
      let out = text.replace(USERINFO, '$1***@');
      for (const s of masked) out = out.split(s).join('***');
      return out;
    },
  };
}

/** The `[remote "origin"]` section of a workspace's .git/config, as a clone writes it. */
export function originSection(url: string): string {
  // Quoted, so '#' and ';' in a URL are not read as comments.
  const value = url.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
  return `[remote "origin"]\n\turl = "${value}"\n\tfetch = +refs/heads/*:refs/remotes/origin/*\n`;
}
