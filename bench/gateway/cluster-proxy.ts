// The bare proxy in N processes on one port, the way `rampart start` runs RAMPART_WORKERS=N: with N > 1 a
// node:cluster primary forks N workers that share the listening socket (round-robin); with N = 1 one plain
// process. Prints `listening <port>` once every process listens; SIGTERM stops it.
// node --import tsx bench/gateway/cluster-proxy.ts <stub origin> <processes>
import cluster from 'node:cluster';
import { startBareProxy } from './bare-proxy.js';

const [stubOrigin = '', procsArg = '1'] = process.argv.slice(2);
const procs = Number(procsArg);
const port = Number(process.env.BENCH_PROXY_PORT ?? 0);

if (procs === 1 || cluster.isWorker) {
  const proxy = await startBareProxy(stubOrigin, port);
  if (procs === 1) process.stdout.write(`listening ${new URL(proxy.origin).port}\n`);
  process.on('SIGTERM', () => {
    void proxy.close().then(() => process.exit(0));
  });
} else {
  let up = 0;
  for (let i = 0; i < procs; i++) {
    cluster.fork().on('listening', (address) => {
      if (++up === procs) process.stdout.write(`listening ${address.port}\n`);
    });
  }
  process.on('SIGTERM', () => {
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
    cluster.on('exit', () => {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
    });
  });
}
