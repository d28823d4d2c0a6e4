// `make demo-test`: the headless-Chromium test of the demo page, kept out of `make test` (it needs
// Debian's chromium and takes ~15 s). Run: npx vitest run --config test/browser/vitest.config.ts
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/browser/**/*.test.ts'],
    environment: 'node',
    testTimeout: 60_000,
    hookTimeout: 30_000,
    fileParallelism: false,
  },
});
