/**
 * The server package, loaded only by the commands that use it (start, admin). Loading it costs about a
 * second of CPU (Fastify, PGlite, pg, the MCP SDK), which `--help`, `login`, `pack` and the runtime commands
 * should not pay.
 */
export const loadServer = () => import('@rampart/server');
