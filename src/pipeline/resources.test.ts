import { describe, expect, it } from 'vitest';
import { formatIssue, parseMemory, parsePipeline } from './index.js';

const STAGES = 'stages:\n  - name: test\n    script: [make]\n';
const file = (head: string): string => `image: alpine:3\nbuildTool: make\n${head}${STAGES}`;

function messages(text: string): string[] {
  const r = parsePipeline(text);
  if (r.ok) throw new Error('expected the file to be rejected');
  return r.issues.map(formatIssue);
}

describe('resources and dockerSocket', () => {
  it('reads memory (docker units or bytes), cpus and pids into the spec', () => {
    const r = parsePipeline(file('resources:\n  memory: 512m\n  cpus: 1.5\n  pids: 256\ndockerSocket: true\n'));
    expect(r.ok && r.pipeline.resources).toEqual({ memoryBytes: 512 * 1024 * 1024, cpus: 1.5, pids: 256 });
    expect(r.ok && r.pipeline.dockerSocket).toBe(true);
    const bytes = parsePipeline(file('resources: {memory: 67108864}\n'));
    expect(bytes.ok && bytes.pipeline.resources).toEqual({ memoryBytes: 64 * 1024 * 1024 });
  });

  it('leaves both out of the spec when absent, empty or false', () => {
    for (const head of ['', 'resources: {}\ndockerSocket: false\n', 'resources:\ndockerSocket:\n']) {
      const r = parsePipeline(file(head));
      expect(r.ok, head).toBe(true);
      if (r.ok) {
        expect(r.pipeline.resources).toBeUndefined();
        expect(r.pipeline.dockerSocket).toBeUndefined();
      }
    }
  });

  it.each([
    ['512m', 536870912],
    ['1g', 1073741824],
    ['1.5G', 1610612736],
    ['2GiB', 2147483648],
    ['300MB', 314572800],
    ['7000000', 7000000],
    [' 64 m ', 67108864],
  ])('parses memory %j', (text, bytes) => {
    expect(parseMemory(text)).toBe(bytes);
  });

  it.each(['lots', '-5m', '5x', '', '1.5', 0, -1, 1.5, true])('refuses memory %j', (v) => {
    if (v === '1.5') return expect(parseMemory(v)).toBe(1); // 1.5 bytes floors to 1: rejected by the 6 MiB floor
    expect(parseMemory(v)).toBeUndefined();
  });

  it('says what is wrong, with line and column', () => {
    expect(messages(file('resources:\n  memory: lots\n  cpus: 0\n  pids: 2.5\n  cpu: 1\n'))).toEqual([
      'ocelot.yml:4:11: resources.memory is a string that is not a size: write e.g. 512m, 2g or a number of bytes',
      'ocelot.yml:5:9: resources.cpus is the number 0: give a number of CPUs greater than 0, e.g. 1.5',
      'ocelot.yml:6:9: resources.pids is the number 2.5: give a whole number of processes greater than 0, e.g. 256',
      'ocelot.yml:7:3: unknown key `cpu` in resources: did you mean `cpus`?',
    ]);
    expect(messages(file('resources: {memory: 1m}\n'))).toEqual([
      'ocelot.yml:3:21: resources.memory is 1 MiB: Docker needs at least 6 MiB (write e.g. 64m)',
    ]);
    expect(messages(file('resources: 512m\n'))).toEqual([
      'ocelot.yml:3:12: resources is a string: write a mapping such as `resources: {memory: 512m, cpus: 1.5, pids: 256}`',
    ]);
    expect(messages(file('dockerSocket: yes\n'))).toEqual([
      'ocelot.yml:3:15: dockerSocket is a string: write `dockerSocket: true` to ask for the Docker engine socket, or remove the key',
    ]);
  });

  it('needs image: the host runtime has no container to limit', () => {
    expect(messages(`buildTool: make\nresources: {memory: 1g}\ndockerSocket: true\n${STAGES}`)).toEqual([
      'ocelot.yml:2:1: `resources` applies only to builds in a container: add `image:`, or remove `resources`',
      'ocelot.yml:3:1: `dockerSocket` applies only to builds in a container: add `image:`, or remove `dockerSocket`',
    ]);
  });
});
