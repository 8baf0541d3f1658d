import { defineConfig } from 'vitest/config';

/**
 * Two projects so a unit-only run never starts the registry: global setup (stand-in + fixtures)
 * belongs to the integration project, and vitest runs it only when that project has files to run.
 */
export default defineConfig({
  test: {
    // CI also writes the totals as JSON: .ci/run prints them as "N passed, N failed".
    reporters: process.env.CI ? ['default', ['json', { outputFile: 'test-results.json' }]] : ['default'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          exclude: ['test/unit/**', '**/node_modules/**'],
          globalSetup: ['test/support/global-setup.ts'],
          // Real servers and a real registry on a 2-core machine: generous, but failures still end.
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
