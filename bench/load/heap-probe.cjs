// Preloaded into the server child (`node --require`): reports its heap to the bench over IPC every second.
const timer = setInterval(() => {
  if (typeof process.send !== 'function' || !process.connected) return;
  const m = process.memoryUsage();
  process.send({ heapUsed: m.heapUsed, rss: m.rss });
}, 1000);
timer.unref();
