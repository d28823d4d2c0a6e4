import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    reporters: ['default'],
    projects: [
      {
        test: {
          name: 'unit',
          include: [
            'dataplane/src/**/*.test.ts',
            'operator/src/**/*.test.ts',
            'scripts/**/*.test.ts',
            'test/load/**/*.test.ts',
            'chaos/**/*.test.ts',
          ],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts', 'test/k8s/**/*.test.ts', 'test/conformance/**/*.test.ts'],
          environment: 'node',
          testTimeout: 30_000,
          hookTimeout: 60_000,
          // Real processes and sockets: keep files from starving each other on 2 cores.
          fileParallelism: false,
        },
      },
    ],
  },
});
