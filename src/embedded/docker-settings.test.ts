import { describe, expect, it } from 'vitest';
import { dockerSettingsFrom } from './docker-settings.js';

describe('dockerSettingsFrom', () => {
  it('defaults: pull if not present, no ceiling, no socket', () => {
    expect(dockerSettingsFrom({}, {})).toEqual({ pullPolicy: 'if-not-present', limits: {}, allowDockerSocket: false });
  });

  it('reads flags, and the environment where a flag is absent', () => {
    const env = { OCELOT_DOCKER_MEMORY: '1g', OCELOT_DOCKER_CPUS: '4', OCELOT_DOCKER_PIDS: '100', OCELOT_DOCKER_ALLOW_SOCKET: '1', OCELOT_DOCKER_PULL_POLICY: 'always', OCELOT_DOCKER_SOCKET: 'unix:///run/d.sock' };
    expect(dockerSettingsFrom({ dockerCpus: '1.5', pullPolicy: 'never' }, env)).toEqual({
      pullPolicy: 'never',
      limits: { memoryBytes: 1024 ** 3, nanoCpus: 1_500_000_000, pidsLimit: 100 },
      allowDockerSocket: true,
      socketPath: '/run/d.sock',
    });
    expect(dockerSettingsFrom({ dockerMemory: '268435456', allowDockerSocket: true }, {}).limits).toEqual({ memoryBytes: 268435456 });
  });

  it.each([
    [{ dockerMemory: 'lots' }, /--docker-memory.*'lots'/],
    [{ dockerMemory: '1m' }, /at least 6m.*1 MiB/],
    [{ dockerCpus: '0' }, /--docker-cpus/],
    [{ dockerPids: '2.5' }, /--docker-pids/],
    [{ pullPolicy: 'sometimes' }, /always, if-not-present, never/],
    [{ dockerSocket: 'tcp://host:2375' }, /DOCKER_HOST/],
  ])('refuses %j with a reason', (flags, message) => {
    expect(() => dockerSettingsFrom(flags, {})).toThrow(message);
  });
});
