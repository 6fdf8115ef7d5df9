// Bundles the widget into one minified, dependency-free script (dist/widget.js) that sites embed with a
// <script> tag. esbuild: fast, deterministic output, no runtime of its own in the bundle.
import { mkdirSync } from 'node:fs';
import { build } from 'esbuild';

mkdirSync(new URL('./dist/', import.meta.url), { recursive: true });
await build({
  entryPoints: [new URL('./src/widget.ts', import.meta.url).pathname],
  outfile: new URL('./dist/widget.js', import.meta.url).pathname,
  bundle: true,
  minify: true,
  format: 'iife',
  target: ['es2019'],
  legalComments: 'none',
  logLevel: 'warning',
});
