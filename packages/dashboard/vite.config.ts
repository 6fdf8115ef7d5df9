import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  root: here('.'),
  plugins: [react()],
  resolve: {
    // The browser seals connection strings with the same module as the CLI (WebCrypto), so envelopes interoperate.
    alias: [{ find: /^@rampart\/core\/(.*)$/, replacement: `${here('../core/src')}/$1/index.ts` }],
  },
  build: {
    outDir: here('dist'),
    emptyOutDir: true,
    // Everything is a file served from this origin: no data: URIs or inline code for the CSP to allow.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
    target: 'es2022',
  },
});
