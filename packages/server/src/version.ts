/** The release, shown by `rampart --version`, /healthz and the OpenAPI document. Its own module so the CLI can
 * read it without loading the server (a subpath export: `@rampart/server/version`). */
export const VERSION = '0.1.0';
