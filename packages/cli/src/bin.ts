#!/usr/bin/env node
import { run } from './main.js';

run(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`rampart: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
