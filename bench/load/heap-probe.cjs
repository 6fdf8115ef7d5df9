// Preloaded into the server child (`node --require`): reports process.memoryUsage() to the bench over IPC
// every second, so the soak can tell V8 heap growth from Buffers and native (malloc) growth.
const timer = setInterval(() => {
  if (typeof process.send !== 'function' || !process.connected) return;
  const m = process.memoryUsage();
  process.send({
    heapUsed: m.heapUsed,
    heapTotal: m.heapTotal,
    external: m.external,
    arrayBuffers: m.arrayBuffers,
    rss: m.rss,
  });
}, 1000);
timer.unref();
