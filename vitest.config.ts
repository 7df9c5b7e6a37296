import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Process-level tests start real servers, werkers and containers; two cores do not like many at once.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
