import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts', 'test/integration/**/*.test.ts', 'test/browser/**/*.test.ts'],
    // Integration files share one Postgres server and one Redis (each in its own database / prefix);
    // two at a time matches the 2-core machines this runs on.
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // each file's Redis queue keys are deleted after it (test/support/cleanup.ts)
    setupFiles: ['test/support/cleanup.ts'],
    // tests spawn bin/capture.js, which runs the compiled dist/
    globalSetup: ['test/support/build.ts'],
  },
});
