/**
 * The werker's view of the server when both live in one process (`ocelot up`): every call goes straight to the
 * store, with the same lease fencing the HTTP protocol has. Claims wait on the store's in-process wake-up, so an
 * idle werker picks up a new build within a millisecond or two of it being recorded.
 */
import type { Store } from '../store/store.js';
import { claimWaiting } from '../store/claim-wait.js';
import { LOCAL_OWNER } from '../store/werkers.js';
import type { AttemptReport, RegisterAnswer, WerkerStatus, ClaimedBuild, Lease, WerkerInfo, WerkerServerClient, RenewResult } from '../werker/protocol.js';

export class InProcessWerkerClient implements WerkerServerClient {
  constructor(
    private readonly store: Store,
    private readonly leaseMs: number,
  ) {}

  async register(werker: WerkerInfo, status: WerkerStatus = 'online'): Promise<RegisterAnswer> {
    // Its id is the local werker's: a remote werker token cannot take it over (store/werkers.ts).
    await this.store.registerWerker(werker, status, LOCAL_OWNER);
    return { leaseMs: this.leaseMs };
  }

  claim(werker: WerkerInfo, waitMs: number, signal: AbortSignal): Promise<ClaimedBuild | null> {
    return claimWaiting(this.store, werker, this.leaseMs, waitMs, signal, LOCAL_OWNER);
  }

  renew(lease: Lease): Promise<RenewResult> {
    return this.store.renew(lease, this.leaseMs);
  }
  handBack(lease: Lease, requires: string[], reason: string): Promise<void> {
    return this.store.handBack(lease, requires, reason);
  }
  report(lease: Lease, report: AttemptReport): Promise<void> {
    return this.store.report(lease, report);
  }
}
