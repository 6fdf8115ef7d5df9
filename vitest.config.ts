import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (p: string) => fileURLToPath(new URL(`./packages/${p}`, import.meta.url));

export default defineConfig({
  resolve: {
    // Tests run against the TypeScript sources of sibling workspaces, never stale dist/ output.
    alias: [
      { find: /^@rampart\/core\/(.*)$/, replacement: `${src('core/src')}/$1/index.ts` },
      { find: /^@rampart\/server$/, replacement: `${src('server/src')}/index.ts` },
    ],
  },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'packages/*/test/**/*.test.ts', 'bench/**/*.test.ts'],
    globalSetup: ['./test/global-setup.ts'],
    testTimeout: 30_000,
    // A busy 2-core CI machine (browsers, two databases) can take more than the default 1 s to settle.
    expect: { poll: { timeout: 10_000 } },
    hookTimeout: 60_000,
    pool: 'forks',
    // Vitest's default is one worker per core less one: a single worker on these 2-core machines, which left the
    // suite waiting on PostgreSQL, spawned CLIs and timers one file at a time (655 s). Two workers overlap those
    // waits (476 s for the same 3,343 tests, measured 2026-12-07); the budget is 10 minutes.
    maxWorkers: 2,
    minWorkers: 1,
    // Each worker runs its test files one after another in one process, keeping the modules they share (the server,
    // PGlite's WASM, fastify, zod schemas) instead of loading them again in a new process for every file: 8 server
    // files took 114 s instead of 202 s (CPU 43 s instead of 74 s), measured 2026-12-07 on a loaded 2-core machine.
    // Each test file is still its own module, and tests restore what they change in process.env (vi.stubEnv or
    // finally blocks) and close what they start in afterAll. Isolate again (`--isolate`) to rule this out.
    poolOptions: { forks: { isolate: false } },
    reporters: ['default'],
  },
});
