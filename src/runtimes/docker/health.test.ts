import { createServer } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { probeDocker } from './health.js';
import { SKIP_DOCKER } from './test-support.js';

describe('probeDocker', () => {
  it.skipIf(SKIP_DOCKER)('reports the API version of a live engine', async () => {
    const h = await probeDocker();
    if (!h.ok) throw new Error(`no Docker engine answers (${h.reason}); run scripts/ensure-docker.sh or set OCELOT_SKIP_DOCKER_TESTS=1`);
    expect(h.apiVersion).toMatch(/^\d+\.\d+$/);
  });

  it('reports a missing socket as not ok, with a reason', async () => {
    const h = await probeDocker({ socketPath: '/nonexistent/docker.sock', timeoutMs: 1000 });
    expect(h).toMatchObject({ ok: false });
    if (!h.ok) expect(h.reason).toMatch(/not reachable.*ENOENT/);
  });

  it('gives up on an engine that accepts connections but never answers', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ocelot-hang-'));
    const sock = join(dir, 'docker.sock');
    const server = createServer(() => undefined); // accepts, never replies
    await new Promise<void>((r) => server.listen(sock, r));
    try {
      const t0 = Date.now();
      const h = await probeDocker({ socketPath: sock, timeoutMs: 300 });
      expect(h.ok).toBe(false);
      expect(Date.now() - t0).toBeLessThan(2000);
    } finally {
      server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
