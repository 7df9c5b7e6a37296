/**
 * A workspace repository made from the werker's repository cache without running git: the `.git` skeleton that
 * `git init` writes (gitrepository-layout(5): HEAD, config, objects/, refs/), and the cache's object files
 * hard-linked in, as `git clone --local` links them. Then a single `git checkout` fills the working tree.
 *
 * Why not `git clone --local`: it is four processes (git, a shell, git-upload-pack for the ref advertisement,
 * then the checkout) and a dozen files more, for a repository whose refs the build does not need (the workspace
 * is a detached HEAD at the build's commit). For a small repository those processes were most of what preparing
 * a workspace cost, and a busy werker prepares one per build.
 *
 * The result is a complete repository of its own, as a clone is: no alternates pointing into the cache, so it
 * works bind-mounted into a container, and deleting the cache does not break it (hard links keep the objects).
 * Only SHA-1 repositories are laid out this way; anything else takes the ordinary path.
 *
 * Synchronous on purpose: a dozen tiny file operations cost less as direct system calls than as as many trips
 * through libuv's thread pool (each a thread wake-up), and they take well under a millisecond.
 */
import fs from 'node:fs';
import path from 'node:path';
import { originSection } from './git-url.js';

/** Files of a pack that belong together; temporary files of a fetch in progress (tmp_*) are never taken. */
const PACK_FILE = /^pack-[0-9a-f]{40,64}\.(pack|idx|rev|bitmap)$/;
/** A directory of loose objects (objects/ab/…). */
export const LOOSE_DIR = /^[0-9a-f]{2}$/;

/**
 * Lay out `dir/.git` from the bare repository `cache` with `origin` set to `originUrl`. `dir` must not exist
 * or be empty. Call with the cache locked against fetches and repacks (git-cache.ts holds its lock).
 */
export function linkRepository(cache: string, dir: string, originUrl: string): void {
  const git = path.join(dir, '.git');
  const objects = path.join(git, 'objects');
  // Only what git needs to take the directory for a repository (HEAD, objects/, refs/): git creates the rest
  // (refs/heads, objects/info, …) when something is put there. Every file or directory made here is made again
  // for every build, and on some file systems creating one costs more than all of git's work on a small checkout.
  fs.mkdirSync(path.join(objects, 'pack'), { recursive: true });
  fs.mkdirSync(path.join(git, 'refs'));
  // HEAD must name a ref for git to accept the directory; checkout detaches it at the build's commit.
  fs.writeFileSync(path.join(git, 'HEAD'), 'ref: refs/heads/main\n');
  fs.writeFileSync(path.join(git, 'config'), repositoryConfig(originUrl));

  const cacheObjects = path.join(cache, 'objects');
  for (const f of fs.readdirSync(path.join(cacheObjects, 'pack'))) {
    if (PACK_FILE.test(f)) linkOrCopy(path.join(cacheObjects, 'pack', f), path.join(objects, 'pack', f));
  }
  // A cache filled by an older werker may hold loose objects: they are linked the same way.
  for (const sub of fs.readdirSync(cacheObjects)) {
    if (!LOOSE_DIR.test(sub)) continue;
    const files = fs.readdirSync(path.join(cacheObjects, sub));
    if (files.length === 0) continue;
    fs.mkdirSync(path.join(objects, sub));
    for (const f of files) linkOrCopy(path.join(cacheObjects, sub, f), path.join(objects, sub, f));
  }
}

/** What `git init` writes for a non-bare repository, plus the origin a clone would have. */
function repositoryConfig(originUrl: string): string {
  // Reflogs on, as in any clone: build scripts use `git checkout -` and `HEAD@{1}`.
  return '[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = false\n\tlogallrefupdates = true\n' + originSection(originUrl);
}

/** Objects are immutable: a hard link is a copy that costs nothing. Across file systems, a real copy. */
function linkOrCopy(from: string, to: string): void {
  try {
    fs.linkSync(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV' && (err as NodeJS.ErrnoException).code !== 'EPERM') throw err;
    fs.copyFileSync(from, to);
  }
}
