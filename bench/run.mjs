// `npm run bench`: runs every benchmark in bench/ (each writes its own bench/results/<name>.json) and prints a
// summary. `npm run bench -- inspect api` runs a subset. Benchmarks measure ratios against a baseline run side
// by side on the same machine, so their figures mean something on a shared 2-core box.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = dirname(here);
const wanted = process.argv.slice(2);
mkdirSync(join(here, 'results'), { recursive: true });
const benches = readdirSync(here)
  .filter((f) => /^[a-z]+\.(ts|mjs|py)$/.test(f) && f !== 'run.mjs' && !f.startsWith('_'))
  .filter((f) => wanted.length === 0 || wanted.some((w) => f.startsWith(w)));

const failed = [];
for (const file of benches) {
  const name = file.replace(/\.(ts|mjs|py)$/, '');
  process.stdout.write(`\n=== bench ${name} ===\n`);
  const python = join(root, 'python', '.venv', 'bin', 'python');
  const runner = file.endsWith('.py')
    ? [python, [join(here, file)]]
    : file.endsWith('.ts')
      ? [join(root, 'node_modules', '.bin', 'tsx'), [join(here, file)]]
      : [process.execPath, [join(here, file)]];
  const r = spawnSync(runner[0], runner[1], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) failed.push(name);
  const result = join(here, 'results', `${name}.json`);
  if (existsSync(result))
    process.stdout.write(`results: ${result}\n${readFileSync(result, 'utf8').slice(0, 2000)}\n`);
}
if (failed.length) {
  process.stderr.write(`benchmarks that failed to run: ${failed.join(', ')}\n`);
  process.exit(1);
}
