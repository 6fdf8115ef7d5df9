/** Prints once which database engines this run covers, so a CI log says it plainly. */
export default function setup(): void {
  const engines = ['pglite', ...(process.env.TEST_DATABASE_URL ? ['postgres'] : [])];
  const redis = process.env.REDIS_URL ? ` redis=${process.env.REDIS_URL}` : ' redis=off';
  process.stdout.write(`\n[rampart tests] database engines: ${engines.join(', ')}${redis}\n\n`);
}
