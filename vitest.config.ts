import { defineConfig } from 'vitest/config';

// Tests log their measurements (gradient-check errors, kernel comparisons, timings) with console.log.
// By default only a failing test's log is shown, so the runner's summary and any failure stand out;
// CNNVIZ_TEST_VERBOSE=1 shows every test's log.
const verbose = process.env.CNNVIZ_TEST_VERBOSE === '1';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Worker threads run dist/: rebuild it first when a source is newer (test/global-setup.ts).
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // The machines have 2 cores; training tests spawn their own workers.
    maxWorkers: 2,
    silent: verbose ? false : 'passed-only',
  },
});
