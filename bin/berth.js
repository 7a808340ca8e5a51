#!/usr/bin/env node
// The `berth` command: runs the compiled CLI from dist/ (built by `npm run build`).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const entry = join(root, 'dist', 'electron', 'core', 'cli', 'main.js');
if (!existsSync(entry)) {
  process.stderr.write(`berth: not built yet (no ${entry}).\nhint: run \`npm run build\` in ${root}\n`);
  process.exit(1);
}
const { main } = await import(pathToFileURL(entry).href);
process.exitCode = await main(process.argv.slice(2));
