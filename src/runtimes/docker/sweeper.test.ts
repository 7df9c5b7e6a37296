import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDocker } from './client.js';
import { KEEPALIVE_SCRIPT } from './container.js';
import { buildLabels, LABEL_WERKER } from './labels.js';
import { sweepOrphans } from './sweeper.js';
import { requireDocker, SKIP_DOCKER, TEST_IMAGE } from './test-support.js';

const WERKER = `sweep-werker-${process.pid}`;
const OTHER = `other-werker-${process.pid}`;

describe.skipIf(SKIP_DOCKER)('sweepOrphans (real engine)', () => {
  beforeAll(requireDocker);
  afterAll(async () => {
    const { docker } = await connectDocker().catch(() => ({ docker: null }));
    if (!docker) return; // no engine: beforeAll already failed with the reason
    for (const w of [WERKER, OTHER]) {
      const left = await docker.listContainers({ all: true, filters: { label: [`${LABEL_WERKER}=${w}`] } });
      await Promise.all(left.map((c) => docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined)));
    }
  });

  /** What a werker killed with SIGKILL leaves behind: a running, labelled container nobody will clean up. */
  async function leftover(werkerId: string, buildId: number, keep = false, start = true): Promise<string> {
    const { docker } = await connectDocker();
    const c = await docker.createContainer({
      Image: TEST_IMAGE,
      Entrypoint: ['sh', '-c', KEEPALIVE_SCRIPT],
      OpenStdin: true,
      Labels: buildLabels({ buildId, attempt: 2, werkerId, keep }),
    });
    if (start) await c.start();
    return c.id;
  }

  it('removes containers of builds that are no longer running, and only those of this werker', async () => {
    const dead = await leftover(WERKER, 1);
    const deadStopped = await leftover(WERKER, 2, false, false);
    const alive = await leftover(WERKER, 3);
    const kept = await leftover(WERKER, 4, true);
    const foreign = await leftover(OTHER, 5);
    const asked: Array<[number, number]> = [];

    const result = await sweepOrphans({
      werkerId: WERKER,
      isBuildRunning: async (buildId, attempt) => {
        asked.push([buildId, attempt]);
        return buildId === 3;
      },
    });

    expect(result.removed.sort()).toEqual([dead, deadStopped].sort());
    expect(result.kept).toEqual([kept]);
    expect(result.failed).toEqual([]);
    expect(asked.sort()).toEqual([[1, 2], [2, 2], [3, 2]]);
    const { docker } = await connectDocker();
    const ids = (await docker.listContainers({ all: true })).map((c) => c.Id);
    expect(ids).not.toContain(dead);
    expect(ids).not.toContain(deadStopped);
    expect(ids).toContain(alive);
    expect(ids).toContain(kept);
    expect(ids).toContain(foreign);
  });

  it('is a no-op when nothing is left', async () => {
    const result = await sweepOrphans({ werkerId: `nobody-${process.pid}`, isBuildRunning: () => false });
    expect(result).toEqual({ removed: [], kept: [], failed: [] });
  });
});
