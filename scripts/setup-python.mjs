// Creates python/.venv with the converter's requirements (and, with --dev, the test requirements).
// Berth finds this venv at run time; a packaged app creates its own in the data folder instead.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const venv = join(root, 'python', '.venv');
const py = join(venv, process.platform === 'win32' ? 'Scripts/python.exe' : 'bin/python');
const dev = process.argv.includes('--dev');

function run(cmd, args) {
  process.stderr.write(`$ ${cmd} ${args.join(' ')}\n`);
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: root });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

if (!existsSync(py)) run(process.env.PYTHON ?? 'python3', ['-m', 'venv', venv]);
run(py, [
  '-m',
  'pip',
  'install',
  '--disable-pip-version-check',
  '-q',
  '-r',
  join(root, 'python', dev ? 'requirements-dev.txt' : 'requirements.txt'),
]);
process.stderr.write(`Python environment ready: ${py}\n`);
