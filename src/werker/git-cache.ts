/**
 * A werker-local cache of the repositories it builds: one bare repository per clone URL under the werker's
 * work dir. The first build of a repository fetches its history into the cache; later builds fetch only what
 * is new there (nothing, when a commit is built again), and every workspace is then laid out from the cache with
 * its pack files hard-linked (git-link-repo.ts, what `git clone --local` does, without its processes) plus one
 * `git checkout`: no network, no load on the git server, one process instead of a fetch's half dozen.
 *
 * The workspace is a complete repository of its own (no alternates pointing into the cache), so it works the
 * same when bind-mounted into a build container. Its `origin` is the real clone URL, not the cache.
 *
 * Only clone URLs without credentials are cached: a cache fetch would otherwise put the token into a long-lived
 * repository's command lines. Fetches into one cache are serialized within the werker (git's own ref locking
 * is not meant for two fetches of the same refs at once), and a workspace is laid out under the same lock, so a
 * fetch or a repack never changes the packs it links.
 * Any failure of the cache path falls back to the plain fetch, so a damaged cache costs speed, never a build.
 * The cache may be deleted at any time.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { StageOutput } from '../runtimes/runtime.js';
import { runGit } from './git-command.js';
import { LOOSE_DIR, linkRepository } from './git-link-repo.js';

const locks = new Map<string, Promise<void>>();

/**
 * Commits this process has seen in each cache (cache dir → commits). A cache only ever gains commits (each is
 * kept under a ref of its own), so once seen, a commit needs no `git cat-file` again: building the same commit
 * many times costs two git processes (clone, checkout) instead of four. If the cache was deleted meanwhile, the
 * clone fails, the entry is forgotten, and the build falls back to a plain fetch.
 */
const known = new Map<string, Set<string>>();

async function withLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const previous = locks.get(key) ?? Promise.resolve();
  let release!: () => void;
  const mine = new Promise<void>((r) => (release = r));
  const tail = previous.then(() => mine);
  locks.set(key, tail);
  await previous;
  try {
    return await fn();
  } finally {
    release();
    if (locks.get(key) === tail) locks.delete(key);
  }
}

export interface CachedCheckout {
  cacheDir: string;
  cloneUrl: string;
  /** Full commit id. */
  commit: string;
  /** Empty workspace directory to clone into. */
  dir: string;
  output: StageOutput;
  signal: AbortSignal;
}

/**
 * Make sure the cache holds `commit`, then clone the cache into `dir` and check the commit out. Returns false
 * (after cleaning `dir`) when the cache cannot serve this commit, so the caller fetches the ordinary way.
 */
export async function checkoutFromCache(o: CachedCheckout): Promise<boolean> {
  const cache = path.join(o.cacheDir, `${createHash('sha256').update(o.cloneUrl).digest('hex').slice(0, 24)}.git`);
  const quiet = (args: string[], cwd: string) => runGit(args, { cwd, output: o.output, signal: o.signal, mask: (t) => t, echo: false });
  const shown = (args: string[], cwd: string) => runGit(args, { cwd, output: o.output, signal: o.signal, mask: (t) => t });
  try {
    const have = known.get(cache)?.has(o.commit) ? 'cached' : await withLock(cache, async (): Promise<'cached' | 'fetched' | false> => {
      await fs.mkdir(o.cacheDir, { recursive: true });
      if ((await quiet(['rev-parse', '--git-dir'], cache).catch(() => null))?.code !== 0) {
        await fs.rm(cache, { recursive: true, force: true });
        const init = await quiet(['init', '-q', '--bare', '--template=', cache], o.cacheDir);
        if (init.code !== 0) return false;
      }
      if ((await quiet(['cat-file', '-e', `${o.commit}^{commit}`], cache)).code === 0) return remember(cache, o.commit, 'cached');
      // The commit and its whole history, kept under a ref of its own so no gc ever drops it. Always as a pack
      // (unpackLimit 1): workspaces link a pack in two files, where loose objects would be a file and a directory each.
      const fetched = await shown(['-c', 'fetch.unpackLimit=1', 'fetch', '--no-tags', '--no-recurse-submodules', o.cloneUrl, `+${o.commit}:refs/ocelot/${o.commit}`], cache);
      if (fetched.code !== 0) return false;
      await consolidatePacks(cache, quiet);
      return remember(cache, o.commit, 'fetched');
    });
    if (!have) return false;
    if (have === 'cached') o.output.write(`commit ${o.commit} is in this werker's repository cache\n`);
    // The workspace repository is laid out from the cache (git-link-repo.ts), under the lock so no fetch or
    // repack changes the cache's packs meanwhile; then one git process checks the commit out. Its origin is the
    // real repository, as if it had been cloned from there.
    if (o.commit.length === 40) {
      await withLock(cache, async () => linkRepository(cache, o.dir, o.cloneUrl));
    } else {
      // SHA-256 ids: a plain local clone, which knows the object format.
      const clone = await quiet(['clone', '-q', '--local', '--no-checkout', '--no-tags', '--template=', cache, o.dir], o.cacheDir);
      if (clone.code !== 0) return forget(cache, o.commit);
      await runGit(['config', 'remote.origin.url', o.cloneUrl], { cwd: o.dir, output: o.output, signal: o.signal, mask: (t) => t, echo: false });
    }
    const checkout = await shown(['checkout', '-q', '--detach', o.commit], o.dir);
    if (checkout.code !== 0) return forget(cache, o.commit);
    return true;
  } catch {
    // Whatever broke (the cache deleted under us, a full disk), the next build looks at the cache afresh.
    return forget(cache, o.commit);
  }
}

/** One pack per fetch would pile up (and every workspace links them all): past a few, fold them into one. */
const MAX_PACKS = 16;

async function consolidatePacks(cache: string, git: (args: string[], cwd: string) => Promise<{ code: number | null }>): Promise<void> {
  const packs = (await fs.readdir(path.join(cache, 'objects', 'pack')).catch(() => [] as string[])).filter((f) => f.endsWith('.pack'));
  // Loose objects (a cache filled by an older werker) are folded in too: each costs every workspace two entries.
  const loose = (await fs.readdir(path.join(cache, 'objects')).catch(() => [] as string[])).some((d) => LOOSE_DIR.test(d));
  if (packs.length <= MAX_PACKS && !loose) return;
  // Old packs are deleted after the new one is written; workspaces that linked them keep their own links.
  await git(['repack', '-a', '-d', '-q'], cache);
}

function forget(cache: string, commit: string): false {
  known.get(cache)?.delete(commit);
  return false;
}

function remember<T>(cache: string, commit: string, answer: T): T {
  let commits = known.get(cache);
  if (!commits) known.set(cache, (commits = new Set()));
  commits.add(commit);
  return answer;
}
