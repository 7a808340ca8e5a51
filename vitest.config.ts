import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'electron/**/*.test.ts',
      'shared/**/*.test.ts',
      'renderer/src/**/*.test.{ts,tsx}',
      'scripts/**/*.test.ts',
    ],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Deploys in tests measure quality only where a test asks (deploy.quality.http.test.ts): the default would
    // otherwise add an F16 conversion and a measurement to every tiny-model deploy of unrelated tests.
    env: { BERTH_QUALITY_ON_DEPLOY: 'off' },
    reporters: ['default'],
  },
});
