/**
 * The forge-neutral event model. Every way a build can start (a forge webhook, the CLI, a poll, the API)
 * becomes one BuildEvent; the pipeline engine, the store and the werker only ever see this shape.
 *
 * Pure data: this module imports nothing.
 */

/** What triggered a build. Stored on the build as `event_kind`. */
export type EventKind = 'push' | 'tag' | 'pull_request' | 'manual' | 'api' | 'poll' | 'cron';

/** Forges we take webhooks from, plus `local` for builds started without a forge (CLI on a plain git URL). */
export type ForgeName = 'github' | 'bitbucket' | 'local';

export interface PullRequestInfo {
  number: number;
  title: string;
  /** Branch the change comes from (the PR head). */
  sourceBranch: string;
  /** Branch the change goes into (the PR base). */
  targetBranch: string;
  /** `acct/repo` the source branch lives in; differs from the target repo for fork PRs. */
  sourceRepo: string;
  fromFork: boolean;
  /** Forge action that produced the event: opened, synchronize, reopened, created, updated. */
  action: string;
}

export interface BuildEvent {
  forge: ForgeName;
  kind: EventKind;
  /** Repository owner (GitHub owner login / Bitbucket workspace). */
  account: string;
  /** Repository slug. */
  repo: string;
  /** URL the werker clones from (taken from the payload so GHE, Bitbucket Server and plain git HTTP work). */
  cloneUrl: string;
  /**
   * Commit to build. A full 40-hex SHA, except Bitbucket Cloud pull requests, whose payload carries a 12-char
   * abbreviation: the werker resolves it against `branch` after fetching.
   */
  commit: string;
  /** Branch built: the pushed branch, or for a pull request its SOURCE branch. Absent for tags. */
  branch?: string;
  /** Tag name (without refs/tags/) for tag pushes. */
  tag?: string;
  pr?: PullRequestInfo;
  /** Previous head of the branch for pushes that updated an existing branch. */
  before?: string;
  /** Commit messages the event carries (push: every pushed commit, oldest first). Used by `\text` and [skip ci]. */
  commitMessages: string[];
  /**
   * Paths changed by the event as far as the payload tells (union of added/modified/removed). `null` when the
   * payload carries no file list (Bitbucket pushes, pull requests): `\filepath` conditions then do not match.
   */
  changedFiles: string[] | null;
  /** Who triggered it: forge login, or `cli:<user>` for CLI triggers. */
  sender: string;
  /** Force the build: bypasses `branches` and [skip ci]. */
  force?: boolean;
  /** Forge delivery id, for redelivery dedupe. */
  deliveryId?: string;
  /** Keep the build container after the build (docker runtime), for debugging. */
  keepContainer?: boolean;
}

/** Result of normalizing one webhook delivery. */
export type NormalizeResult =
  | { outcome: 'build'; events: BuildEvent[] }
  | { outcome: 'ignore'; reason: string };
