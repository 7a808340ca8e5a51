import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SettingsSchema } from '../../../../shared/settings.js';
import type { AdapterFacts } from '../../checkpoints/adapter-base.js';
import { preparedModel, standinEnv, VLLM_STANDIN } from '../test-support/standin.js';
import { createVllmBackend, vllmLaunchPlan } from './vllm.js';
import { classifyVllmFailure } from './vllm-failures.js';

const fixture = (name: string) =>
  readFileSync(join(VLLM_STANDIN, 'fixtures', name), 'utf8')
    .trim()
    .split('\n');

describe('classifyVllmFailure on real vLLM log lines', () => {
  it.each([
    ['error-no-module.log', 'BACKEND_NOT_INSTALLED', /pip install vllm/, {}],
    [
      'error-kv-cache-v0.log',
      'KV_CACHE_TOO_SMALL',
      /max_model_len 23648/,
      { max_model_len: 29000, max_model_len_that_fits: 23648 },
    ],
    [
      'error-kv-cache-v1.log',
      'KV_CACHE_TOO_SMALL',
      /max_model_len 5632/,
      { max_model_len: 131072, max_model_len_that_fits: 5632, kv_needed_gib: 16, kv_available_gib: 0.71 },
    ],
    // No estimate in the message: 1048576 tokens * 9.97 / 24 GiB = 435589.12, rounded down to a multiple of 16.
    [
      'error-kv-cache-v1-no-estimate.log',
      'KV_CACHE_TOO_SMALL',
      /max_model_len 435584/,
      { max_model_len: 1048576, max_model_len_that_fits: 435584 },
    ],
    [
      'error-cuda-oom.log',
      'CUDA_OUT_OF_MEMORY',
      /tensor_parallel_size/,
      { gpu: 0, requested: '224.00 MiB', total: '11.53 GiB', free: '187.75 MiB' },
    ],
    ['error-cuda-oom-old.log', 'CUDA_OUT_OF_MEMORY', /Free the GPU/, { gpu: 0, free: '4.06 MiB' }],
  ])('%s -> %s', (file, code, hint, details) => {
    const error = classifyVllmFailure(['INFO some earlier line', ...fixture(file)]);
    expect(error?.code).toBe(code);
    expect(error?.hint).toMatch(hint);
    expect(error?.details).toMatchObject(details);
  });

  it.each([
    'vllm-pr24162-startup-excerpt.log',
    'vllm-pr44106-excerpt.log',
    'vllm-pr20707-engine-init-excerpt.log',
  ])('leaves a normal start-up log (%s) unclassified', (file) =>
    expect(classifyVllmFailure(fixture(file))).toBeUndefined(),
  );
});

describe('vLLM launch plan', () => {
  const target = { host: '127.0.0.1', port: 8001 };

  it('serves the HF folder with the requested settings, as an argument array', () => {
    const plan = vllmLaunchPlan(
      preparedModel('m', { max_model_len: 4096, tensor_parallel_size: 2, dtype: 'bfloat16', api_key: 'k 1' }),
      target,
      '/opt/py/bin/python',
      { PYTHONPATH: '/x', SECRET: 'no' },
    );
    expect(plan.command).toBe('/opt/py/bin/python');
    expect(plan.args).toEqual([
      '-m',
      'vllm.entrypoints.openai.api_server',
      '--model',
      '/models/tiny-standin',
      '--host',
      '127.0.0.1',
      '--port',
      '8001',
      '--gpu-memory-utilization',
      '0.9',
      '--served-model-name',
      'm',
      '--max-model-len',
      '4096',
      '--tensor-parallel-size',
      '2',
      '--dtype',
      'bfloat16',
      '--api-key',
      'k 1',
    ]);
    expect(plan.env).toEqual({ PYTHONPATH: '/x', PYTHONUNBUFFERED: '1', VLLM_NO_USAGE_STATS: '1' });
  });

  it('serves a LoRA adapter over its base model under the deployment name', () => {
    const model = {
      ...preparedModel('tuned', { context_length: 2048 }),
      base_model_path: '/models/base',
      adapter_path: '/runs/x/checkpoint-100',
      adapter: { rank: 24 } as AdapterFacts,
    };
    const { args } = vllmLaunchPlan(model, target, 'python3', {});
    // vLLM's default --max-lora-rank (16) refuses a rank-24 adapter: the next rank vLLM accepts
    expect(args[args.indexOf('--max-lora-rank') + 1]).toBe('32');
    expect(args.slice(args.indexOf('--model'), args.indexOf('--model') + 2)).toEqual([
      '--model',
      '/models/base',
    ]);
    expect(args).toContain('--enable-lora');
    expect(args.slice(-2)).toEqual(['--lora-modules', 'tuned=/runs/x/checkpoint-100']);
    expect(args[args.indexOf('--served-model-name') + 1]).toBe('tuned-base');
    expect(args[args.indexOf('--max-model-len') + 1]).toBe('2048');
  });

  it('prepare() passes the HF folder through untouched (never GGUF)', async () => {
    const backend = createVllmBackend({ settings: () => SettingsSchema.parse({}), env: {} });
    const input = preparedModel('m');
    const prepared = await backend.prepare(input, {
      signal: new AbortController().signal,
      stage: () => {},
      progress: () => {},
      log: () => {},
    });
    expect(prepared).toEqual(input);
    expect(prepared.gguf_path).toBeUndefined();
  });

  it('detect() imports vllm with the configured python', async () => {
    const settings = () => SettingsSchema.parse({});
    const found = await createVllmBackend({ settings, env: standinEnv() }).detect();
    expect(found).toMatchObject({ name: 'vllm', installed: true, version: '0.0.0+berth.standin' });
    const missing = await createVllmBackend({ settings, env: { PATH: process.env.PATH } }).detect();
    expect(missing).toMatchObject({ name: 'vllm', installed: false });
    expect(missing.detail).toContain("No module named 'vllm'");
  });
});
