// The benchmarks' model: a random-weight llama GGUF (hidden 512, 4 blocks, ~46 M parameters, F16, Llama-2's
// 32,000-token vocabulary) made by bench/engine.make-model.py with the venv's `gguf` package and cached in tmp;
// the tiny fixture when that is not possible.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TINY_GGUF } from '../electron/core/engine/__fixtures__/fixtures.js';
import { root } from './_berth.js';

export function benchModel(): { path: string; source: string } {
  const path = join(tmpdir(), 'berth-bench-engine.gguf');
  if (existsSync(path)) return { path, source: 'bench/engine.make-model.py (cached in tmp)' };
  const python = join(root, 'python', '.venv', 'bin', 'python');
  const made = spawnSync(python, [join(root, 'bench', 'engine.make-model.py'), path], {
    cwd: root,
    stdio: 'inherit',
  });
  if (made.status === 0) return { path, source: 'bench/engine.make-model.py' };
  process.stderr.write('could not build the bench model; using the tiny fixture GGUF\n');
  return { path: TINY_GGUF, source: 'fixture llama-2-tiny-random.gguf (bench model could not be built)' };
}
