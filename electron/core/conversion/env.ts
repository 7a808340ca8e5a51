import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import type { ConverterEnv } from '../../../shared/conversion.js';
import type { Progress } from '../../../shared/events.js';
import { BerthError } from '../errors.js';
import type { BerthPaths } from '../paths.js';
import type { SettingsService } from '../settings/settings.js';
import { childEnv } from './child-env.js';

/** Modules convert_to_gguf.py imports at run time (tokenizers is optional: a regex fallback exists). */
const REQUIRED_MODULES = ['gguf', 'numpy', 'sentencepiece'];

interface Candidate {
  python: string;
  source: ConverterEnv['source'];
}

function venvPython(dir: string): string {
  return process.platform === 'win32' ? join(dir, 'Scripts', 'python.exe') : join(dir, 'bin', 'python');
}

/** Where the converter's Python may be, in order: settings, the repo's python/.venv, Berth's own env. */
export function converterCandidates(root: string, paths: BerthPaths, settings: SettingsService): Candidate[] {
  const list: Candidate[] = [];
  const configured = settings.get().python.converter;
  if (configured) return [{ python: configured, source: 'settings' }]; // the user's choice, not second-guessed
  list.push({ python: venvPython(join(root, 'python', '.venv')), source: 'repo' });
  list.push({ python: venvPython(paths.pythonEnvDir), source: 'berth' });
  return list;
}

/** Which of the required modules this Python cannot import (all of them when it does not run). */
export async function missingModules(python: string, env: NodeJS.ProcessEnv): Promise<string[]> {
  const probe = `import importlib.util,sys\nprint(",".join(m for m in sys.argv[1:] if importlib.util.find_spec(m) is None))`;
  const res = await execa(python, ['-c', probe, ...REQUIRED_MODULES], {
    reject: false,
    env: childEnv(env),
    extendEnv: false,
    timeout: 30_000,
  });
  if (res.exitCode !== 0) return [...REQUIRED_MODULES];
  return String(res.stdout).trim().split(',').filter(Boolean);
}

/** The first candidate that has everything, or what is missing and how to get it. */
export async function resolveConverterEnv(
  candidates: Candidate[],
  env: NodeJS.ProcessEnv,
): Promise<ConverterEnv> {
  let firstExisting: { candidate: Candidate; missing: string[] } | undefined;
  for (const candidate of candidates) {
    if (candidate.source !== 'settings' && !existsSync(candidate.python)) continue;
    const missing = await missingModules(candidate.python, env);
    if (missing.length === 0)
      return { ready: true, python: candidate.python, source: candidate.source, missing };
    firstExisting ??= { candidate, missing };
  }
  if (firstExisting) {
    return {
      ready: false,
      python: firstExisting.candidate.python,
      source: firstExisting.candidate.source,
      missing: firstExisting.missing,
      hint: `Install the converter's packages (python -m pip install -r python/requirements.txt) into ${firstExisting.candidate.python}, or let Berth create its own environment.`,
    };
  }
  return {
    ready: false,
    source: 'none',
    missing: ['python environment'],
    hint: 'Let Berth create the converter environment (it needs Python 3.10+ as python3 on PATH).',
  };
}

/**
 * Creates Berth's converter venv in `pythonEnvDir` from python/requirements.txt, reporting steps.
 * Uses `python3` from PATH (or `BERTH_PYTHON`) to make the venv.
 */
export async function createConverterEnv(
  root: string,
  paths: BerthPaths,
  env: NodeJS.ProcessEnv,
  onProgress?: (p: Progress) => void,
  signal?: AbortSignal,
): Promise<string> {
  const base = env.BERTH_PYTHON ?? (process.platform === 'win32' ? 'python' : 'python3');
  const step = (done: number, detail: string) =>
    onProgress?.({ stage: 'inspect', done, total: 3, unit: 'steps', detail });
  const run = async (cmd: string, args: string[], what: string) => {
    const res = await execa(cmd, args, {
      reject: false,
      env: childEnv(env),
      extendEnv: false,
      ...(signal ? { cancelSignal: signal } : {}),
    });
    if (res.isCanceled) throw new BerthError('CANCELLED', 'Creating the converter environment was cancelled');
    if (res.exitCode !== 0) {
      throw new BerthError(
        'CONVERTER_ENV_MISSING',
        `${what} failed: ${String(res.stderr).trim().split('\n').slice(-3).join(' ')}`,
        'Berth needs Python 3.10+ with venv and pip, and access to PyPI, to build the converter environment.',
      );
    }
  };
  step(0, `creating ${paths.pythonEnvDir}`);
  await run(base, ['-m', 'venv', paths.pythonEnvDir], `${base} -m venv`);
  const python = venvPython(paths.pythonEnvDir);
  step(1, 'installing gguf, numpy, sentencepiece, tokenizers');
  await run(
    python,
    ['-m', 'pip', 'install', '--disable-pip-version-check', '-r', join(root, 'python', 'requirements.txt')],
    'pip install',
  );
  step(3, 'ready');
  return python;
}
