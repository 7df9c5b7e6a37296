/**
 * Real webhook payloads, re-pointed at a local repository: the demo and the end-to-end tests take a payload
 * GitHub or Bitbucket really sent and rewrite only what must change (clone URL, names, ref, commit ids,
 * messages), so every other field stays as the forge shapes it.
 */

export interface LocalCommit {
  id: string;
  message: string;
  added?: string[];
  modified?: string[];
  removed?: string[];
}

export interface RepointGithubPush {
  cloneUrl: string;
  account: string;
  repo: string;
  branch: string;
  before: string;
  commits: LocalCommit[];
  sender?: string;
}

// Payloads are forge JSON of arbitrary shape; these helpers only touch fields they know.
type Json = Record<string, any>;

/** A GitHub `push` payload (from a real delivery) rewritten to a local repository and commits. */
export function repointGithubPush(template: Json, to: RepointGithubPush): Json {
  const p = structuredClone(template);
  const head = to.commits[to.commits.length - 1];
  if (!head) throw new Error('repointGithubPush needs at least one commit');
  p.ref = `refs/heads/${to.branch}`;
  p.before = to.before;
  p.after = head.id;
  p.created = /^0+$/.test(to.before);
  p.deleted = false;
  p.forced = false;
  p.base_ref = null;
  const commitTemplate = (p.head_commit ?? p.commits?.[0] ?? {}) as Json;
  p.commits = to.commits.map((c) => ({
    ...structuredClone(commitTemplate),
    id: c.id,
    tree_id: c.id,
    message: c.message,
    added: c.added ?? [],
    modified: c.modified ?? [],
    removed: c.removed ?? [],
  }));
  p.head_commit = p.commits[p.commits.length - 1];
  p.repository = { ...p.repository, name: to.repo, full_name: `${to.account}/${to.repo}`, clone_url: to.cloneUrl };
  p.repository.owner = { ...p.repository.owner, login: to.account, name: to.account };
  if (to.sender) p.sender = { ...p.sender, login: to.sender };
  return p;
}

export interface RepointBitbucketPush {
  htmlUrl: string;
  account: string;
  repo: string;
  branch: string;
  before: string | null;
  commits: LocalCommit[];
}

/**
 * A Bitbucket Cloud `repo:push` payload rewritten to a local repository. Bitbucket has no clone URL in the
 * payload: Ocelot clones from `links.html.href` + `.git`, so `htmlUrl` is the repository URL without `.git`.
 */
export function repointBitbucketPush(template: Json, to: RepointBitbucketPush): Json {
  const p = structuredClone(template);
  const change = structuredClone(p.push.changes[0]) as Json;
  const head = to.commits[to.commits.length - 1];
  if (!head) throw new Error('repointBitbucketPush needs at least one commit');
  change.new = { ...change.new, type: 'branch', name: to.branch, target: { ...change.new.target, hash: head.id, message: head.message } };
  change.old = to.before
    ? { ...(change.old ?? change.new), type: 'branch', name: to.branch, target: { ...(change.old?.target ?? change.new.target), hash: to.before } }
    : null;
  change.created = to.before === null;
  change.closed = false;
  const commitTemplate = (change.commits?.[0] ?? change.new.target) as Json;
  // Bitbucket lists the newest commit first.
  change.commits = [...to.commits].reverse().map((c) => ({ ...structuredClone(commitTemplate), hash: c.id, message: c.message }));
  p.push.changes = [change];
  p.repository = {
    ...p.repository,
    name: to.repo,
    full_name: `${to.account}/${to.repo}`,
    links: { ...p.repository.links, html: { href: to.htmlUrl } },
  };
  return p;
}
