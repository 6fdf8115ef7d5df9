/**
 * @rampart/testing: the helpers the server, CLI, dashboard and widget tests and bench/ share. Real components
 * only: a real server over HTTP, the built CLI as a process, real databases. The browser helpers
 * (playwright-core) are apart, in `@rampart/testing/browser`.
 */
export * from './accounts.js';
export * from './cli.js';
export * from './embeddings.js';
export * from './http.js';
export * from './mail.js';
export * from './openapi.js';
export * from './pg.js';
export * from './server-env.js';
export * from './target.js';
export * from './totp.js';
