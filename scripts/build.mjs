// Builds everything Berth runs from: the Node side (tsc -> dist/), the preload (one CommonJS bundle, as a
// sandboxed preload must be) and the renderer (vite -> dist/renderer).
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const bin = (name) => join(root, 'node_modules', '.bin', name);

function run(label, cmd, args) {
  const started = Date.now();
  const result = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) {
    process.stderr.write(`build: ${label} failed\n`);
    process.exit(result.status ?? 1);
  }
  process.stderr.write(`build: ${label} done in ${Date.now() - started} ms\n`);
}

run('core and shell (tsc)', bin('tsc'), ['-p', 'tsconfig.build.json']);
run('preload (esbuild)', bin('esbuild'), [
  'electron/preload/index.ts',
  '--bundle',
  '--platform=node',
  '--format=cjs',
  '--external:electron',
  '--target=node20',
  '--log-level=warning',
  '--outfile=dist/electron/preload/index.cjs',
]);
run('renderer (vite)', bin('vite'), ['build', '--logLevel', 'warn']);
