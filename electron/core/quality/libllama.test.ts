// The struct mirrors in libllama.ts against the llama.h node-llama-cpp's binaries were built from (its git
// bundle), and the binding against the real libllama in this process.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getLlama, LlamaLogLevel } from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appRoot } from '../version.js';
import {
  BATCH,
  CONTEXT_PARAMS,
  checkLayout,
  type Fields,
  LIBLLAMA,
  loadedLibllamaPath,
  MODEL_PARAMS,
  prebuiltLibllamaPath,
  RawEvaluator,
} from './libllama.js';

const bundle = join(appRoot(), 'node_modules', 'node-llama-cpp', 'llama', 'gitRelease.bundle');
const work = mkdtempSync(join(tmpdir(), 'berth-llama-h-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The fields of `struct name { ... }` in llama.h, as [field, koffi type] (enums int32_t, pointers void *). */
function headerFields(header: string, name: string): Fields {
  const open = new RegExp(`(?:typedef )?struct ${name} \\{`).exec(header);
  if (!open) throw new Error(`struct ${name} not in llama.h`);
  const body = header.slice(open.index + open[0].length, header.indexOf('}', open.index));
  const callbacks = /_callback$|^ggml_backend_dev_t$/;
  return body
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/\/\/.*$/gm, '')
    .split(';')
    .map((f) => f.trim().replace(/\s+/g, ' '))
    .filter(Boolean)
    .map((f) => {
      const m = /^(.*?)\s*(\**)\s*(\w+)$/.exec(f);
      if (!m) throw new Error(`cannot read field "${f}" of ${name}`);
      const [, type = '', stars = '', field = ''] = m;
      const t = type.replace(/^const /, '').replace(/^struct /, '');
      const koffi = stars ? 'void *' : t.startsWith('enum ') ? 'int32_t' : callbacks.test(t) ? 'void *' : t;
      return [field, koffi] as const;
    });
}

describe.skipIf(!existsSync(bundle))("libllama's structs as llama.h declares them", () => {
  let header = '';
  beforeAll(() => {
    const dest = join(work, 'llama.cpp');
    execFileSync('git', ['clone', '--quiet', '--no-checkout', bundle, dest]);
    header = execFileSync('git', ['-C', dest, 'show', 'HEAD:include/llama.h'], { encoding: 'utf8' });
  }, 120_000);

  it.each([
    ['llama_model_params', MODEL_PARAMS],
    ['llama_context_params', CONTEXT_PARAMS],
    ['llama_batch', BATCH],
  ] as const)('%s: every field, in order, with its type', (name, ours) => {
    expect(headerFields(header, name)).toEqual(ours);
  });

  it('the reader of llama.h sees a changed field (a check that can fail)', () => {
    const changed = header.replace('int32_t n_gpu_layers;', 'int64_t n_gpu_layers;');
    expect(headerFields(changed, 'llama_model_params')).not.toEqual(MODEL_PARAMS);
  });
});

describe('binding the libllama node-llama-cpp loaded', () => {
  it('finds it, binds it, and its defaults read back as llama.cpp sets them', async () => {
    const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
    const path = loadedLibllamaPath(llama.gpu);
    expect(path && existsSync(path)).toBe(true);
    expect(() => RawEvaluator.bindApi(path as string)).not.toThrow();
    await llama.dispose();
  }, 60_000);

  it('names: every libllama node-llama-cpp ships, never libllama-common or a GGML backend', () => {
    for (const f of [
      'libllama.so',
      'libllama.v0.4.0.so',
      'libllama.cuda.v0.4.0.so',
      'libllama.dylib',
      'llama.dll',
    ])
      expect(f).toMatch(LIBLLAMA);
    for (const f of ['libllama-common.so', 'libggml-base.so', 'llama-addon.node', 'libllama.so.txt'])
      expect(f).not.toMatch(LIBLLAMA);
    // where no library is mapped to read (macOS, Windows): the prebuilt folder's, for the GPU type loaded
    const cpu = prebuiltLibllamaPath(false);
    expect(cpu && existsSync(cpu)).toBe(true);
    expect(cpu).toMatch(/bins\/[^/]+\/(lib)?llama[^/]*$/);
    expect(prebuiltLibllamaPath('no-such-gpu')).toBeUndefined();
  });

  it('a layout whose defaults read back wrong is refused, naming the fields', () => {
    const api = RawEvaluator.bindApi(loadedLibllamaPath(false) as string);
    const shifted = {
      ...api,
      contextDefaults: () => ({ ...api.contextDefaults(), n_batch: 512, n_ubatch: 1 }),
    };
    expect(() => checkLayout(shifted)).toThrow(
      /context\.n_batch = 512, expected 2048; context\.n_ubatch = 1/,
    );
  });
});
