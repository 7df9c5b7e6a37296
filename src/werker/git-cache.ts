/**
 * A werker-local cache of the repositories it builds: one bare repository per clone URL under the werker's
 * work dir. The first build of a repository fetches its history into the cache; later builds fetch only what
 * is new there (nothing, when a commit is built again), and every workspace is then a local clone of the cache
 * (`git clone --local`, which hard-links the immutable pack files) plus a checkout: no network, no load on the
 * git server, a fraction of the processes of a fetch over HTTP.
 *
 * The workspace is a complete repository of its own (no alternates pointing into the cache), so it works the
 * same when bind-mounted into a build container. Its `origin` is the real clone URL, not the cache.
 *
 * Only clone URLs without credentials are cached: a cache fetch would otherwise put the token into a long-lived
 * repository's command lines. Fetches into one cache are serialized within the werker (git's own ref locking
 * is not meant for two fetches of the same refs at once); reading the cache to clone it needs no lock.
 * Any failure of the cache path falls back to the plain fetch, so a damaged cache costs speed, never a build.
 * The cache may be deleted at any time.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { StageOutput } from '../runtimes/runtime.js';
import { runGit, runGitSequence } from './git-command.js';

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
      // The commit and its whole history, kept under a ref of its own so no gc ever drops it.
      const fetched = await shown(['fetch', '--no-tags', '--no-recurse-submodules', o.cloneUrl, `+${o.commit}:refs/ocelot/${o.commit}`], cache);
      return fetched.code === 0 && remember(cache, o.commit, 'fetched');
    });
    if (!have) return false;
    if (have === 'cached') o.output.write(`commit ${o.commit} is in this werker's repository cache\n`);
    // Clone and checkout from one spawned process. No template: sample hooks are a dozen files per workspace
    // that nobody runs (and file creation is not free).
    const checkout = await runGitSequence(
      [
        { args: ['clone', '-q', '--local', '--no-checkout', '--no-tags', '--template=', cache, o.dir] },
        { args: ['-C', o.dir, 'checkout', '-q', '--detach', o.commit], echo: true, shown: ['checkout', '-q', '--detach', o.commit] },
      ],
      { cwd: o.cacheDir, output: o.output, signal: o.signal, mask: (t) => t },
    );
    if (checkout.code !== 0) return forget(cache, o.commit);
    // The workspace's origin is the real repository, as if it had been cloned from there.
    const config = path.join(o.dir, '.git', 'config');
    const text = await fs.readFile(config, 'utf8');
    await fs.writeFile(config, text.replace(/^(\s*url\s*=\s*).*$/m, (_m, key: string) => `${key}${quoteConfig(o.cloneUrl)}`));
    return true;
  } catch {
    // Whatever broke (the cache deleted under us, a full disk), the next build looks at the cache afresh.
    return forget(cache, o.commit);
  }
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

function quoteConfig(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}
