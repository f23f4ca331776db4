import { defineConfig } from 'vitest/config';

/**
 * The fault suite: real service processes killed, Postgres restarted, Redis flushed. These touch
 * the machine's shared services, so files and tests run one at a time, after the main suite.
 */
export default defineConfig({
  test: {
    include: ['test/faults/**/*.test.ts'],
    fileParallelism: false,
    maxWorkers: 1,
    testTimeout: 240_000,
    hookTimeout: 60_000,
    // each file's Redis queue keys are deleted after it (test/support/cleanup.ts)
    setupFiles: ['test/support/cleanup.ts'],
    // tests spawn bin/capture.js, which runs the compiled dist/
    globalSetup: ['test/support/build.ts'],
  },
});
