import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../engine/__fixtures__/engine-process.js';
import { TINY_GGUF } from '../engine/__fixtures__/fixtures.js';
import { survivors, waitFor } from '../servers/test-support/standin.js';
import { makeTestApi } from '../test-support/core.js';
import {
  OLLAMA_STANDIN_DIR,
  recordingConverterPython,
  TRAINER_RUN,
  VENV_PYTHON,
  VLLM_STANDIN_DIR,
} from './test-support.js';

const LORA = TRAINER_RUN.replace(/trainer-run$/, 'lora-adapter');

// The deploy API through real HTTP: real core, real job registry on the real Trainer-run fixture, the real
// converter (Python child) and llama.cpp, the built-in engine for real; vLLM and Ollama are their test
// stand-ins (test-standins/, not the real programs, which cannot be installed here).
const haveVenv = existsSync(VENV_PYTHON);
type Api = Awaited<ReturnType<typeof makeTestApi>>;
let t: Api;
let jobId: string;
const converter = recordingConverterPython();

describe.skipIf(!haveVenv)('POST /api/training/deploy', () => {
  beforeAll(async () => {
    t = await makeTestApi({
      env: {
        ...process.env,
        PYTHONPATH: VLLM_STANDIN_DIR,
        PATH: `${OLLAMA_STANDIN_DIR}:${process.env.PATH}`,
        BERTH_STANDIN_DELAY_MS: '50',
      },
    });
    // In-process: program settings changed over HTTP wait for the user's review (see settings.test.ts).
    t.core.settings.update({
      python: { converter: converter.python },
      ollama: { host: `http://127.0.0.1:${await freePort()}` },
    });
    const job = await t.call('POST', '/api/training/jobs', { path: TRAINER_RUN });
    expect([200, 201]).toContain(job.status);
    jobId = job.body.id;
  });
  afterAll(async () => {
    await t?.dispose();
    expect(survivors()).toEqual([]);
  });

  it("vLLM: answers the design document's response, serves the HF folder, never starts the converter", async () => {
    const before = converter.runs().length;
    const res = await t.call('POST', '/api/training/deploy', {
      job_id: jobId,
      server_type: 'vllm',
      checkpoint_path: 'checkpoint-12',
      name: 'my-model',
      config: { gpu_memory_utilization: 0.8 },
    });
    expect(res.status).toBe(200);
    const seedKeys = ['success', 'server_id', 'status', 'base_url', 'port', 'model_id', 'model_name'];
    expect(Object.keys(res.body)).toEqual(expect.arrayContaining(seedKeys));
    expect(res.body).toMatchObject({
      success: true,
      status: 'running',
      model_name: 'my-model',
      server_type: 'vllm',
    });
    expect(res.body.base_url).toBe(`http://127.0.0.1:${res.body.port}`);
    expect(res.body.model_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.body.gguf_path).toBeUndefined();
    expect(converter.runs().length).toBe(before);
    const models = (await (await fetch(`${res.body.base_url}/v1/models`)).json()) as {
      data: Array<{ id: string }>;
    };
    expect(models.data.map((m: { id: string }) => m.id)).toContain('my-model');
    const server = await t.call('GET', `/api/servers/${res.body.server_id}`);
    expect(server.body.command).toEqual(
      expect.arrayContaining(['-m', 'vllm.entrypoints.openai.api_server', '--gpu-memory-utilization', '0.8']),
    );
    expect(server.body.command.join(' ')).toContain(`${TRAINER_RUN}/checkpoint-12`);
  });

  it('409 when the name is taken by a running server', async () => {
    const res = await t.call('POST', '/api/training/deploy', {
      job_id: jobId,
      server_type: 'vllm',
      name: 'my-model',
    });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('NAME_CONFLICT');
  });

  it('built-in engine: converts once (a converter process), then reuses the cached GGUF', async () => {
    const before = converter.runs().length;
    const first = await t.call('POST', '/api/training/deploy', {
      job_id: jobId,
      server_type: 'llamacpp',
      name: 'engine-a',
      config: { quantization: 'Q8_0', context_length: 256 },
    });
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(first.body).toMatchObject({
      success: true,
      status: 'running',
      server_type: 'llamacpp',
      quantization: 'Q8_0',
    });
    expect(first.body.gguf_path).toMatch(/\.gguf$/);
    expect(converter.runs().length).toBe(before + 1);
    expect(converter.runs().at(-1)).toContain('Q8_0');

    const client = new OpenAI({ baseURL: first.body.openai_base_url, apiKey: 'none' });
    const chat = await client.chat.completions.create({
      model: 'engine-a',
      messages: [{ role: 'user', content: 'hi' }],
      max_tokens: 4,
      temperature: 0,
    });
    expect(chat.choices[0]?.message.role).toBe('assistant');

    const second = await t.call('POST', '/api/training/deploy', {
      job_id: jobId,
      server_type: 'llamacpp',
      name: 'engine-b',
      config: { quantization: 'Q8_0', context_length: 256 },
    });
    expect(second.status, JSON.stringify(second.body)).toBe(200);
    expect(second.body.gguf_path).toBe(first.body.gguf_path);
    expect(second.body.model_id).toBe(first.body.model_id);
    expect(converter.runs().length).toBe(before + 1);
  });

  it("a Trainer checkpoint without tokenizer files takes the run root's tokenizer (engine and vLLM)", async () => {
    const engine = await t.call('POST', '/api/training/deploy', {
      job_id: jobId,
      server_type: 'llamacpp',
      checkpoint_path: 'checkpoint-12',
      name: 'ckpt-12-engine',
      config: { quantization: 'F16', context_length: 256 },
    });
    expect(engine.status, JSON.stringify(engine.body)).toBe(200);
    expect(converter.runs().at(-1)).toContain(`--tokenizer-dir ${TRAINER_RUN}`);
    const vllm = await t.call('POST', '/api/training/deploy', {
      job_id: jobId,
      server_type: 'vllm',
      checkpoint_path: 'checkpoint-12',
      name: 'ckpt-12-vllm',
    });
    expect(vllm.status, JSON.stringify(vllm.body)).toBe(200);
    const server = await t.call('GET', `/api/servers/${vllm.body.server_id}`);
    const cmd: string[] = server.body.command;
    expect(cmd[cmd.indexOf('--tokenizer') + 1]).toBe(TRAINER_RUN);
    for (const id of [engine.body.server_id, vllm.body.server_id])
      await t.call('DELETE', `/api/servers/${id}`);
  });

  it('Ollama: converts (or reuses the cache), imports through the Ollama API, serves', async () => {
    const before = converter.runs().length;
    const res = await t.call('POST', '/api/training/deploy', {
      job_id: jobId,
      server_type: 'ollama',
      name: 'ollama-9',
      config: { context_length: 256, quantization: 'Q4_K_M' },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ server_type: 'ollama', model_name: 'ollama-9', quantization: 'Q4_K_M' });
    expect(converter.runs().length).toBe(before + 1);
    const tags = (await (await fetch(`${res.body.base_url}/api/tags`)).json()) as {
      models: Array<{ name: string }>;
    };
    expect(tags.models.map((m: { name: string }) => m.name.replace(/:latest$/, ''))).toContain('ollama-9');
  });

  it.each([
    [
      'unknown job',
      { job_id: '6b0e3b8e-9a47-4a8e-9d8e-0f6f1c1b2a3c', server_type: 'vllm' },
      404,
      'JOB_NOT_FOUND',
    ],
    [
      'unknown checkpoint',
      { server_type: 'vllm', checkpoint_path: 'checkpoint-999' },
      404,
      'CHECKPOINT_NOT_FOUND',
    ],
    [
      'checkpoint_path escaping the job',
      { server_type: 'vllm', checkpoint_path: '../../etc' },
      400,
      'PATH_ESCAPES_JOB',
    ],
    [
      'a model path that does not exist',
      { model_path: '/nonexistent/berth/model', server_type: 'vllm' },
      404,
      undefined,
    ],
    [
      'a LoRA adapter whose base is not on this machine',
      { model_path: LORA.replace(/lora-adapter$/, 'lora-missing-base'), server_type: 'llamacpp' },
      422,
      'ADAPTER_BASE_MISSING',
    ],
    ['a GGUF file to vLLM', { model_path: TINY_GGUF, server_type: 'vllm' }, 422, 'UNSUPPORTED_MODEL'],
  ])('%s', async (_label, body, status, code) => {
    const request = 'model_path' in body ? body : { job_id: jobId, ...body };
    const res = await t.call('POST', '/api/training/deploy', request);
    expect(res.status).toBe(status);
    expect(res.body.success).toBe(false);
    if (code) expect(res.body.error.code).toBe(code);
    expect(res.body.error.message.length).toBeGreaterThan(0);
  });

  it('409 when the requested port is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;
    try {
      const res = await t.call('POST', '/api/training/deploy', {
        job_id: jobId,
        server_type: 'vllm',
        name: 'port-clash',
        config: { port },
      });
      expect(res.status).toBe(409);
      expect(res.body.error.code).toBe('PORT_IN_USE');
    } finally {
      blocker.close();
    }
  });

  it('503 when the backend is not installed, with how to install it', async () => {
    t.core.settings.update({ python: { vllm: '/bin/false' } }); // runs, but has no vLLM
    try {
      const res = await t.call('POST', '/api/training/deploy', {
        job_id: jobId,
        server_type: 'vllm',
        name: 'no-vllm',
      });
      expect(res.status).toBe(503);
      expect(res.body.error.code).toBe('BACKEND_NOT_INSTALLED');
      expect(res.body.error.hint).toBeTruthy();
    } finally {
      await t.call('PATCH', '/api/settings', { python: { vllm: null } });
    }
  });

  it('cancel mid-conversion: 202 with an id, events stream, DELETE stops it, nothing is left behind', async () => {
    const cacheDir = t.core.paths.ggufCacheDir;
    const cacheBefore = existsSync(cacheDir) ? readdirSync(cacheDir).sort() : [];
    process.env.BERTH_TEST_CONVERTER_DELAY = '30';
    // The core's children inherit from the core's env: set it there too.
    t.core.env.BERTH_TEST_CONVERTER_DELAY = '30';
    try {
      const accepted = await t.call('POST', '/api/training/deploy?wait=false', {
        job_id: jobId,
        server_type: 'llamacpp',
        name: 'to-cancel',
        config: { quantization: 'Q5_K_M' },
      });
      expect(accepted.status).toBe(202);
      const id = accepted.body.deployment_id;
      const runs = converter.runs().length;
      await waitFor(() => converter.runs().length > runs, 20_000, 'the converter to start');
      const cancelled = await t.call('DELETE', `/api/deployments/${id}`);
      expect(cancelled.status).toBe(200);
      expect(cancelled.body.status).toBe('cancelled');
      expect(cancelled.body.stages.convert).toBe('failed');
      const result = await t.call('GET', `/api/deployments/${id}/result`);
      expect(result.body.error.code).toBe('CANCELLED');
      const after = existsSync(cacheDir) ? readdirSync(cacheDir).sort() : [];
      expect(after).toEqual(cacheBefore);
      const list = await t.call('GET', '/api/servers');
      expect(list.body.map((s: { name: string }) => s.name)).not.toContain('to-cancel');
      await waitFor(() => survivors().every((pid) => !isConverter(pid)), 5_000, 'the converter to exit');
    } finally {
      delete process.env.BERTH_TEST_CONVERTER_DELAY;
      delete t.core.env.BERTH_TEST_CONVERTER_DELAY;
    }
  });

  it("streams a deployment's events over SSE, history first", async () => {
    const accepted = await t.call('POST', '/api/training/deploy?wait=false', {
      job_id: jobId,
      server_type: 'vllm',
      checkpoint_path: 'checkpoint-6',
      name: 'sse-model',
    });
    const res = await fetch(`${t.api.url}${accepted.body.events_url}`, {
      headers: { authorization: `Bearer ${t.api.token}` },
    });
    const text = await res.text(); // the stream ends when the deployment finishes
    const events = text
      .split('\n\n')
      .flatMap((f) => f.split('\n').filter((l) => l.startsWith('data: ')))
      .map((l) => JSON.parse(l.slice(6)));
    const stages = events.filter((e) => e.type === 'deployment.stage').map((e) => `${e.stage}:${e.state}`);
    expect(stages).toEqual(
      expect.arrayContaining([
        'inspect:started',
        'inspect:done',
        'convert:skipped',
        'quantize:skipped',
        'start:done',
        'healthy:done',
      ]),
    );
    expect(events.at(-1)).toMatchObject({ type: 'deployment.status', status: 'succeeded' });
  });
});

function isConverter(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('convert_to_gguf');
  } catch {
    return false;
  }
}
