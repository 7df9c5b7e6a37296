import { describe, expect, it } from 'vitest';
import { compareApiVersions } from './client.js';
import { FrameDemuxer, type StreamKind } from './demux.js';
import { normalizeImageRef } from './image-ref.js';
import { clampLimits, describeLimits, requestedLimits } from './options.js';

function frame(type: number, text: string): Buffer {
  const payload = Buffer.from(text);
  const head = Buffer.alloc(8);
  head[0] = type;
  head.writeUInt32BE(payload.length, 4);
  return Buffer.concat([head, payload]);
}

describe('FrameDemuxer', () => {
  it('splits frames in order, whatever the chunk boundaries', () => {
    const all = Buffer.concat([frame(1, 'out1\n'), frame(2, 'err1\n'), frame(1, ''), frame(1, 'out2\n')]);
    for (let step = 1; step <= all.length; step++) {
      const got: Array<[StreamKind, string]> = [];
      const d = new FrameDemuxer((k, p) => got.push([k, p.toString()]));
      for (let i = 0; i < all.length; i += step) d.push(all.subarray(i, i + step));
      expect(got.map(([, t]) => t).join('')).toBe('out1\nerr1\nout2\n');
      expect(got.filter(([k]) => k === 'stderr').map(([, t]) => t).join('')).toBe('err1\n');
      expect(d.leftover).toBe(0);
    }
  });
});

describe('normalizeImageRef', () => {
  it.each([
    ['busybox', 'busybox:latest'],
    ['busybox:1.36', 'busybox:1.36'],
    ['registry:5000/team/app', 'registry:5000/team/app:latest'],
    ['registry:5000/team/app:v2', 'registry:5000/team/app:v2'],
    ['app@sha256:abc', 'app@sha256:abc'],
  ])('%s -> %s', (input, want) => expect(normalizeImageRef(input)).toBe(want));
});

describe('clampLimits', () => {
  it('never exceeds the ceiling and fills in from it', () => {
    expect(clampLimits({ memoryBytes: 100, pidsLimit: 50 }, { memoryBytes: 200, nanoCpus: 5 })).toEqual({
      memoryBytes: 100,
      nanoCpus: 5,
      pidsLimit: 50,
    });
    expect(clampLimits({ memoryBytes: 100 }, { memoryBytes: 10 })).toEqual({ memoryBytes: 10 });
    expect(clampLimits()).toEqual({});
  });
});

describe('compareApiVersions', () => {
  it('compares numerically', () => {
    expect(compareApiVersions('1.9', '1.41')).toBeLessThan(0);
    expect(compareApiVersions('1.50', '1.41')).toBeGreaterThan(0);
    expect(compareApiVersions('1.41', '1.41')).toBe(0);
  });
});

describe('describeLimits', () => {
  it('names the limits and those the ceiling lowered', () => {
    const ceiling = { memoryBytes: 256 * 1024 * 1024, nanoCpus: 1e9 };
    const asked = { memoryBytes: 1024 * 1024 * 1024, nanoCpus: 5e8, pidsLimit: 64 };
    expect(describeLimits(clampLimits(ceiling, asked), asked)).toBe(
      "memory 256 MiB (lowered to the werker's ceiling), cpus 0.5, pids 64",
    );
    expect(describeLimits({}, {})).toBe('');
  });
});

describe('requestedLimits', () => {
  it('turns a pipeline request into engine units', () => {
    expect(requestedLimits({ memoryBytes: 1024, cpus: 1.5, pids: 9 })).toEqual({ memoryBytes: 1024, nanoCpus: 1_500_000_000, pidsLimit: 9 });
    expect(requestedLimits(undefined)).toEqual({});
  });
});
