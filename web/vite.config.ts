/// <reference types="vitest/config" />
import { defineConfig, type Plugin } from 'vite';
import react from '@vitejs/plugin-react';

// The screens someone lands on first, by the module that renders them. Their
// chunks (and what those import statically, beyond the entry's own preloads) are
// written to dist/.preload.json; web/embed.go reads it and puts
// <link rel="modulepreload"> tags for the requested route into index.html, so the
// browser fetches a screen's code alongside the entry instead of after it has run.
const PRELOAD_ROUTES: Record<string, string> = {
  login: 'src/features/account/LoginPage.tsx',
  registration: 'src/features/account/RegistrationPage.tsx',
  recovery: 'src/features/account/RecoveryPage.tsx',
  shell: 'src/app/Shell.tsx',
  overview: 'src/features/home/OverviewPage.tsx',
  customers: 'src/features/customers/CustomersPage.tsx',
  customer: 'src/features/customers/CustomerPage.tsx',
};

function routePreloads(): Plugin {
  return {
    name: 'clientele-route-preloads',
    apply: 'build',
    generateBundle(_, bundle) {
      const chunks = Object.values(bundle).filter((c) => c.type === 'chunk');
      const byFile = new Map(chunks.map((c) => [c.fileName, c]));
      const closure = (file: string, seen: Set<string>) => {
        if (seen.has(file)) return seen;
        seen.add(file);
        for (const i of byFile.get(file)?.imports ?? []) closure(i, seen);
        return seen;
      };
      const entry = chunks.find((c) => c.isEntry);
      if (!entry) return;
      const initial = closure(entry.fileName, new Set());
      const out: Record<string, string[]> = {};
      for (const [name, src] of Object.entries(PRELOAD_ROUTES)) {
        const chunk = chunks.find((c) => c.facadeModuleId?.endsWith('/' + src));
        if (!chunk) this.error(`route preloads: no chunk for ${src}`);
        out[name] = [...closure(chunk.fileName, new Set())].filter((f) => !initial.has(f)).map((f) => '/' + f);
      }
      this.emitFile({ type: 'asset', fileName: '.preload.json', source: JSON.stringify(out, null, 1) });
    },
  };
}

// During development Vite serves the app and forwards the API and the Kratos
// flows to `clientele dev` on :8080, so cookies stay same-origin.
const backend = process.env.CLIENTELE_BACKEND ?? 'http://127.0.0.1:8080';

export default defineConfig({
  plugins: [react(), routePreloads()],
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
