import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  root: here('.'),
  plugins: [
    react(),
    {
      // The server is imported for its API types only (`import type … from '@rampart/server/api-types'`, erased
      // at build time): a value import would pull Node code into the browser bundle, so the build refuses it.
      name: 'rampart-server-types-only',
      enforce: 'pre',
      resolveId(id) {
        if (id.startsWith('@rampart/server'))
          this.error(`${id}: import the server's API types with "import type"`);
        return null;
      },
    },
  ],
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
