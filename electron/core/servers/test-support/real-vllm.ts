import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * Where the REAL vLLM is for the real-vLLM tests and benchmark: BERTH_VLLM_PYTHON, else the venv that
 * `npm run setup:vllm` made (its pointer `<cache>/berth/vllm.json`). Nothing here is a stand-in.
 */
export function cacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.BERTH_CACHE) return env.BERTH_CACHE;
  if (process.platform === 'darwin') return join(homedir(), 'Library', 'Caches', 'berth');
  if (process.platform === 'win32')
    return join(env.LOCALAPPDATA ?? join(homedir(), 'AppData', 'Local'), 'berth', 'cache');
  return join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'berth');
}

export interface RealVllm {
  python: string;
  version: string;
  /** What the setup script recorded (absent when BERTH_VLLM_PYTHON points elsewhere). */
  setup?: { package: string; device: string; install_seconds: number; bytes: number };
}

/**
 * The real vLLM, or why there is none (the reason a skipped test prints). With `optIn` (the slow suites: minutes
 * per vLLM start on a CPU) only when BERTH_REAL_VLLM=1, which `npm run test:vllm` sets, so a plain `npm test` on
 * a machine that has the venv does not grow by ten minutes.
 */
export function findRealVllm(
  env: NodeJS.ProcessEnv = process.env,
  options: { optIn?: boolean } = {},
): RealVllm | { skip: string } {
  if (options.optIn && env.BERTH_REAL_VLLM !== '1')
    return { skip: 'the real-vLLM suite runs with `npm run test:vllm` (or BERTH_REAL_VLLM=1)' };
  const pointer = join(cacheRoot(env), 'vllm.json');
  let python = env.BERTH_VLLM_PYTHON;
  let setup: RealVllm['setup'];
  if (!python && existsSync(pointer)) {
    const info = JSON.parse(readFileSync(pointer, 'utf8'));
    python = info.python;
    setup = info;
  }
  if (!python)
    return { skip: `no real vLLM: run \`npm run setup:vllm\` (writes ${pointer}) or set BERTH_VLLM_PYTHON` };
  const probe = spawnSync(python, ['-c', 'import vllm, sys; sys.stdout.write(vllm.__version__)'], {
    encoding: 'utf8',
    timeout: 120_000,
    // PYTHONPATH would let the stand-in answer for vLLM: the real one only
    env: { ...env, PYTHONPATH: '', VLLM_NO_USAGE_STATS: '1' },
  });
  const version = probe.stdout?.trim() ?? '';
  if (probe.status !== 0)
    return { skip: `no real vLLM: ${python} cannot import vllm (${lastLine(probe.stderr ?? '')})` };
  if (version.includes('berth.standin')) return { skip: `${python} imports the vLLM stand-in, not vLLM` };
  return { python, version, ...(setup ? { setup } : {}) };
}

const MAKER = resolve(import.meta.dirname, 'make_vllm_run.py');
const VENV_PYTHON = resolve(import.meta.dirname, '../../../../python/.venv/bin/python');

/**
 * A real Trainer run vLLM's CPU build can serve (head_dim 32) and a real PEFT LoRA adapter over it, made by
 * make_vllm_run.py with the dev venv once per version of that script and kept in the cache folder.
 */
export function realVllmFixture(): { run: string; adapter?: string } {
  const hash = createHash('sha256').update(readFileSync(MAKER)).digest('hex').slice(0, 12);
  const dir = join(cacheRoot(), 'test-fixtures', `vllm-run-${hash}`);
  const done = join(dir, 'done.json');
  if (!existsSync(done)) {
    const partial = `${dir}.partial-${process.pid}`;
    rmSync(partial, { recursive: true, force: true });
    mkdirSync(partial, { recursive: true });
    const made = spawnSync(VENV_PYTHON, [MAKER, partial], { encoding: 'utf8', timeout: 600_000 });
    if (made.status !== 0) throw new Error(`make_vllm_run.py failed: ${made.stderr}`);
    const out = JSON.parse(lastLine(made.stdout)) as { run: string; adapter: string | null };
    // the adapter names its base by absolute path: point it at the final folder before moving there
    if (out.adapter) {
      const cfgPath = join(partial, 'lora-adapter', 'adapter_config.json');
      const cfg = JSON.parse(readFileSync(cfgPath, 'utf8'));
      cfg.base_model_name_or_path = join(dir, 'run');
      writeFileSync(cfgPath, JSON.stringify(cfg, null, 2));
    }
    writeFileSync(join(partial, 'done.json'), JSON.stringify({ adapter: out.adapter !== null }));
    if (existsSync(done))
      rmSync(partial, { recursive: true, force: true }); // another test file was faster
    else {
      rmSync(dir, { recursive: true, force: true });
      renameSync(partial, dir);
    }
  }
  const { adapter } = JSON.parse(readFileSync(done, 'utf8')) as { adapter: boolean };
  return { run: join(dir, 'run'), ...(adapter ? { adapter: join(dir, 'lora-adapter') } : {}) };
}

function lastLine(text: string): string {
  return text.trim().split('\n').at(-1) ?? '';
}
