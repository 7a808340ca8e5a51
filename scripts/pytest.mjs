// Runs the converter's tests with the project venv's Python (python/.venv, made by `npm run setup:python -- --dev`).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const py = join(root, 'python', '.venv', 'bin', 'python');
if (!existsSync(py)) {
  process.stderr.write('pytest: no python/.venv. Run: npm run setup:python -- --dev\n');
  process.exit(1);
}
const r = spawnSync(
  py,
  ['-m', 'pytest', '-q', '-p', 'no:cacheprovider', 'python/tests', ...process.argv.slice(2)],
  {
    cwd: root,
    stdio: 'inherit',
  },
);
process.exit(r.status ?? 1);
