/**
 * A werker's life as an operator sees it, with real processes: it takes the lease length from the server (no
 * setting on the werker), says goodbye on SIGTERM so `ocelot werkers` shows it gone at once, and stops with a
 * clear message and a non-zero exit when its token is revoked, instead of retrying forever.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ocelot, ocelotJson } from './support/ocelot-process.js';
import { startCluster, isFinal, type Cluster } from './support/cluster.js';

interface WerkersJson {
  werkers: Array<{ name: string; online: boolean }>;
}

describe('distributed: werker lifecycle', () => {
  let c: Cluster;
  beforeAll(async () => {
    c = await startCluster({ leaseMs: 4_321, pipeline: 'buildTool: shell\nstages:\n  - name: noop\n    script: ["true"]\n' });
    await c.startServer();
  });
  afterAll(async () => c?.close());

  it("takes the server's lease length; SIGTERM signs it off: ocelot werkers shows it gone at once", async () => {
    const w = await c.startWerker('polite');
    expect(w.output()).toContain("lease 4321 ms (the server's)");
    let listed = await ocelotJson<WerkersJson>(['werkers'], c.env());
    expect(listed.werkers.find((x) => x.name === 'polite')?.online).toBe(true);
    expect(await w.stop('SIGTERM')).toBe(0);
    listed = await ocelotJson<WerkersJson>(['werkers'], c.env());
    expect(listed.werkers.find((x) => x.name === 'polite')?.online).toBe(false);
  });

  it('a second werker on a busy werker\'s work dir is refused before it touches anything; the running build passes', async () => {
    const w = await c.startWerker('owner');
    await c.setPipeline('buildTool: shell\nstages:\n  - name: nap\n    script: ["sleep 3", "echo rested"]\n', 'a nap');
    const id = await c.push();
    await c.waitFor(id, (v) => v.stages.some((x) => x.name === 'nap' && x.state === 'RUNNING'), 20_000);
    const second = await ocelot(
      ['werker', '--server', c.servers[0]!.matched, '--token', 'ocw_not-even-valid', '--work-dir', path.join(c.tmp, 'werker-owner'), '--no-docker'],
      { ...c.env(), OCELOT_TOKEN: '' },
    );
    expect(second.code).toBe(2);
    expect(second.stderr).toContain(`in use by another ocelot werker (pid ${w.child.pid})`);
    expect(second.stderr).toContain('--work-dir');
    const s = await c.waitFor(id, isFinal, 30_000);
    expect(s.build.state, s.build.reason ?? '').toBe('PASSED');
    expect(s.attempts).toHaveLength(1);
    expect(await w.stop('SIGTERM')).toBe(0);
  });

  it('a second SIGTERM during the drain hands the running build back at once (no lost attempt), then the werker exits 0', async () => {
    const w = await c.startWerker('impatient', undefined, ['--drain', '120']);
    await c.setPipeline('buildTool: shell\nstages:\n  - name: long\n    script: ["sleep 20.13"]\n', 'long');
    const id = await c.push();
    await c.waitFor(id, (v) => v.stages.some((x) => x.name === 'long' && x.state === 'RUNNING'), 20_000);
    const exited = new Promise<number | null>((resolve) => w.child.once('exit', (code) => resolve(code)));
    const t0 = Date.now();
    w.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 500));
    w.child.kill('SIGTERM');
    expect(await exited, w.output()).toBe(0);
    expect(Date.now() - t0).toBeLessThan(8_000);
    expect(w.output()).toContain('SIGTERM again: ending the drain');
    const s = await c.waitFor(id, (v) => v.build.state === 'QUEUED', 5_000);
    expect(s.attempts.map((a) => a.state)).toEqual(['HANDED_BACK']);
    await ocelot(['kill', String(id)], c.env());
  });

  it('a revoked token: the werker stops claiming and exits non-zero with a clear message', async () => {
    const w = await c.startWerker('revoked');
    const exited = new Promise<number | null>((resolve) => w.child.once('exit', (code) => resolve(code)));
    const t0 = Date.now();
    const r = await ocelot(['werker-token', 'revoke', `revoked-${c.werkers.length - 1}`], c.env());
    expect(r.code, r.stderr).toBe(0);
    // Its next request (heartbeat every 5 s, or its next claim) is refused.
    const code = await Promise.race([exited, new Promise<string>((resolve) => setTimeout(() => resolve('still running'), 15_000))]);
    expect(code, w.output()).toBe(3);
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect(w.output()).toMatch(/refused the werker token.*Ask an admin for a new token/s);
  });
});
