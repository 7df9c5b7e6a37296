import { describe, expect, it } from 'vitest';
import { LeaseKeeper } from './lease-keeper.js';
import { LeaseLostError, TokenRefusedError, type RenewResult, type WerkerServerClient } from './protocol.js';

/** A client whose renew answers from a script; the keeper calls nothing else. */
function renewing(answers: Array<RenewResult | Error>): WerkerServerClient {
  let i = 0;
  return {
    renew: async () => {
      const a = answers[Math.min(i++, answers.length - 1)]!;
      if (a instanceof Error) throw a;
      return a;
    },
  } as unknown as WerkerServerClient;
}

const ok: RenewResult = { cancelRequested: false, leaseExpiresAt: Date.now() + 60_000 };
const lease = { buildId: 1, attempt: 1, token: 't' };

function watch(client: WerkerServerClient, leaseMs = 300) {
  const events: string[] = [];
  const keeper = new LeaseKeeper(client, lease, leaseMs, { onCancel: () => events.push('cancel'), onLost: (err) => events.push(`lost:${(err as Error).name}`) });
  keeper.start();
  return { events, stop: () => keeper.stop() };
}

describe('LeaseKeeper', () => {
  it('a refused (revoked) token stops the build at once, like a lost lease', async () => {
    const w = watch(renewing([ok, new TokenRefusedError('the server refused the werker token')]));
    await new Promise((r) => setTimeout(r, 350));
    w.stop();
    expect(w.events).toEqual(['lost:TokenRefusedError']);
  });

  it('a lost lease stops it; a cancel is told once', async () => {
    const w = watch(renewing([{ ...ok, cancelRequested: true }, { ...ok, cancelRequested: true }, new LeaseLostError('gone')]));
    await new Promise((r) => setTimeout(r, 450));
    w.stop();
    expect(w.events).toEqual(['cancel', 'lost:LeaseLostError']);
  });

  it('a server that does not answer is ridden out until the lease could have expired', async () => {
    const w = watch(renewing([new Error('ECONNREFUSED')]), 300);
    await new Promise((r) => setTimeout(r, 250));
    expect(w.events).toEqual([]);
    await new Promise((r) => setTimeout(r, 400));
    w.stop();
    expect(w.events).toEqual(['lost:Error']);
  });
});
