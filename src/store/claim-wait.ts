/**
 * A claim that waits: try `claimNext`, and if nothing matches, sleep until the queue's wake-up (in-process event
 * on SQLite, LISTEN/NOTIFY on PostgreSQL) or the deadline, then try again. Used by the in-process werker client
 * and by the HTTP long-poll route, so both pick up a new build as soon as it is committed, without polling.
 */
import type { ClaimedBuild, WerkerInfo } from '../werker/protocol.js';
import type { Store } from './store.js';

export async function claimWaiting(
  store: Pick<Store, 'claimNext' | 'onQueued'>,
  werker: WerkerInfo,
  leaseMs: number,
  waitMs: number,
  signal: AbortSignal,
  /** Who claims (Store.claimNext): a werker id held by another live owner throws WerkerIdTakenError. */
  owner?: string,
): Promise<ClaimedBuild | null> {
  const deadline = Date.now() + waitMs;
  while (!signal.aborted) {
    // Subscribe before looking, so a build queued between the look and the wait still wakes us.
    let wake!: () => void;
    const woken = new Promise<void>((resolve) => (wake = resolve));
    const unsubscribe = store.onQueued(() => wake());
    try {
      const claimed = await store.claimNext(werker, leaseMs, owner);
      if (claimed) return claimed;
      const left = deadline - Date.now();
      if (left <= 0) return null;
      await waitFor(woken, left, signal);
    } finally {
      unsubscribe();
    }
  }
  return null;
}

function waitFor(woken: Promise<void>, ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    void woken.then(done);
  });
}
