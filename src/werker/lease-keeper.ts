/**
 * Keeps a build's lease alive while it runs: renews every third of the lease, tells the build about a cancel
 * requested on the server (within one renew interval, capped at 1 s so `ocelot kill` is felt within a second),
 * and reports a lost lease so the build stops without writing anything more.
 */
import type { Lease, WerkerServerClient } from './protocol.js';
import { LeaseLostError, TokenRefusedError } from './protocol.js';

export interface LeaseKeeperEvents {
  onCancel(): void;
  onLost(err: unknown): void;
}

export class LeaseKeeper {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private failuresSince: number | null = null;
  cancelReason: string | undefined;

  constructor(
    private readonly client: WerkerServerClient,
    private readonly lease: Lease,
    private readonly leaseMs: number,
    private readonly events: LeaseKeeperEvents,
  ) {}

  /** Renew interval: often enough to see a cancel within a second, rarely enough to cost nothing. */
  get intervalMs(): number {
    return Math.max(50, Math.min(1000, Math.floor(this.leaseMs / 3)));
  }

  start(): void {
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), this.intervalMs);
    this.timer.unref?.();
  }

  private async tick(): Promise<void> {
    try {
      const result = await this.client.renew(this.lease);
      this.failuresSince = null;
      if (result.cancelRequested && this.cancelReason === undefined) {
        this.cancelReason = 'cancelled by request (ocelot kill)';
        this.events.onCancel();
      }
    } catch (err) {
      // A revoked token: every write of this build will be refused from now on, so it stops like a lost lease
      // (and is re-queued for another werker when the lease runs out).
      if (err instanceof LeaseLostError || err instanceof TokenRefusedError) {
        this.stopped = true;
        this.events.onLost(err);
        return;
      }
      // The server may be restarting: keep trying until the lease would have expired anyway.
      this.failuresSince ??= Date.now();
      if (Date.now() - this.failuresSince > this.leaseMs) {
        this.stopped = true;
        this.events.onLost(err);
        return;
      }
    }
    this.schedule();
  }
}
