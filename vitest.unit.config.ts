import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

/**
 * `npm run test:unit`: the quick loop. Tests that need no build (they import TypeScript sources through the
 * aliases of vitest.config.ts, never dist/), no server and no database: packages/core, the doc and layering
 * checks, the pure unit files. No global setup (it builds the PGlite snapshot the database tests start from).
 * `npm test` runs these too, with everything else.
 */
export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: [
      'packages/core/src/**/*.test.ts',
      'packages/server/test/*-doc.test.ts',
      'packages/server/test/readme-*.test.ts',
      'packages/server/test/layering.test.ts',
      'packages/server/test/config.test.ts',
      'packages/server/test/jobs-units.test.ts',
    ],
    globalSetup: [],
  },
});
