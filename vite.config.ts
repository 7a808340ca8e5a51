import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// Builds the renderer into dist/renderer: loaded from disk by the Electron window and served by `berth serve`.
export default defineConfig({
  root: 'renderer',
  base: './',
  plugins: [react()],
  build: { outDir: '../dist/renderer', emptyOutDir: true, sourcemap: true, target: 'es2022' },
});
