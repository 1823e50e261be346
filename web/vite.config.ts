/// <reference types="vitest/config" />
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// During development Vite serves the app and forwards the API and the Kratos
// flows to `clientele dev` on :8080, so cookies stay same-origin.
const backend = process.env.CLIENTELE_BACKEND ?? 'http://127.0.0.1:8080';

export default defineConfig({
  plugins: [react()],
  server: {
    port: 5173,
    proxy: {
      '/api': { target: backend, changeOrigin: false },
      '/kratos': { target: backend, changeOrigin: false },
    },
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
    manifest: true, // read (then removed) by scripts/bundle-report.mjs
    chunkSizeWarningLimit: 1500,
    rollupOptions: {
      output: {
        // Heavy libraries get chunks of their own so the first screen stays small.
        manualChunks(id: string) {
          if (id.includes('node_modules/echarts') || id.includes('node_modules/zrender')) return 'echarts';
          if (id.includes('node_modules/@ory')) return 'ory';
          return undefined;
        },
      },
    },
  },
  test: {
    environment: 'jsdom',
    include: ['src/**/*.test.{ts,tsx}'],
    setupFiles: ['src/test-setup.ts'],
    // jsdom renders of antd screens take ~1 s on an idle 2-core machine and past 5 s
    // (Vitest's default) when the machine is busy; a timeout is a hang guard, not a
    // speed bar, so it is generous.
    testTimeout: 30_000,
  },
});
