// The built-in engine as a Berth backend: prepared, launched and supervised by the real ServerManager, the real
// engine child process on the real tiny GGUF, asked through the official openai client.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { TINY_GGUF } from '../../engine/__fixtures__/fixtures.js';
import type { ConvertRequest } from '../../engine/prepare.js';
import { BerthError } from '../../errors.js';
import { makeTestApi, makeTestCore } from '../../test-support/core.js';
import type { PreparedModel, StageContext } from '../backend.js';
import { survivors, waitFor } from '../test-support/standin.js';
import { classifyEngineFailure, createLlamaCppBackend, defaultEngineCommand } from './llamacpp.js';

const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
  expect(survivors()).toEqual([]);
});

function recordingContext() {
  const stages: string[] = [];
  const logs: string[] = [];
  const ctx: StageContext = {
    signal: new AbortController().signal,
    stage: (stage, state) => stages.push(`${stage}:${state}`),
    progress: () => {},
    log: (line) => logs.push(line),
  };
  return { ctx, stages, logs };
}

function tempDir() {
  const dir = mkdtempSync(join(tmpdir(), 'berth-llamacpp-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The converter's place: records what it was asked and answers with the real tiny GGUF. */
function convertToTiny(requests: ConvertRequest[]) {
  return async (request: ConvertRequest) => {
    requests.push(request);
    return { ggufPath: TINY_GGUF, cached: false, bytes: 1750560 };
  };
}

const settings = () => {
  throw new Error('settings are not needed here');
};

describe('llamacpp backend: prepare', () => {
  it('serves a .gguf as it is, skipping conversion', async () => {
    const requests: ConvertRequest[] = [];
    const backend = createLlamaCppBackend({ settings, convert: convertToTiny(requests) });
    const { ctx, stages } = recordingContext();
    const prepared = await backend.prepare({ model_path: TINY_GGUF, model_name: 'tiny', config: {} }, ctx);
    expect(prepared.gguf_path).toBe(TINY_GGUF);
    expect(requests).toEqual([]);
    expect(stages).toEqual(['convert:skipped', 'quantize:skipped']);
  });

  it('refuses a .gguf that is not one', async () => {
    const bad = join(tempDir(), 'fake.gguf');
    writeFileSync(bad, 'PK\x03\x04 not a gguf');
    const backend = createLlamaCppBackend({ settings, convert: convertToTiny([]) });
    const error = await backend
      .prepare({ model_path: bad, model_name: 'x', config: {} }, recordingContext().ctx)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BerthError);
    expect((error as BerthError).code).toBe('GGUF_INVALID');
  });

  it('converts an HF folder: F16 for a tiny model, the requested quantization when given', async () => {
    const folder = tempDir();
    writeFileSync(join(folder, 'config.json'), '{}');
    writeFileSync(join(folder, 'model.safetensors'), Buffer.alloc(4096));
    const requests: ConvertRequest[] = [];
    const backend = createLlamaCppBackend({ settings, convert: convertToTiny(requests) });
    const { ctx, stages } = recordingContext();
    const prepared = await backend.prepare({ model_path: folder, model_name: 'm', config: {} }, ctx);
    expect(prepared).toMatchObject({ gguf_path: TINY_GGUF, quantization: 'F16', cached: false });
    expect(stages).toEqual(['convert:started', 'convert:done', 'quantize:skipped']);
    await backend.prepare({ model_path: folder, model_name: 'm', config: { quantization: 'Q8_0' } }, ctx);
    expect(requests.map((r) => [r.modelPath, r.quantization])).toEqual([
      [folder, 'F16'],
      [folder, 'Q8_0'],
    ]);
  });
});

describe('llamacpp backend: launch plan and failures', () => {
  const model: PreparedModel = {
    model_path: '/m',
    gguf_path: '/m/model.gguf',
    model_name: 'm',
    config: { context_length: 2048, api_key: 'k' },
  };

  it('runs this Node on the engine entry with an argument array', () => {
    const backend = createLlamaCppBackend({ settings, convert: convertToTiny([]) });
    const plan = backend.launch(model, { host: '127.0.0.1', port: 8081 });
    expect(plan?.command).toBe(process.execPath);
    expect(plan?.args).toEqual([
      ...defaultEngineCommand().args,
      '--model',
      '/m/model.gguf',
      '--host',
      '127.0.0.1',
      '--port',
      '8081',
      '--name',
      'm',
      '--ctx',
      '2048',
      '--api-key',
      'k',
    ]);
    expect(plan?.env).toEqual({}); // not under Electron: no ELECTRON_RUN_AS_NODE
    expect(backend.defaultPort).toBe(8080);
  });

  it.each([
    [['engine: error MODEL_LOAD_FAILED: /m/model.gguf: Failed to load model'], 'MODEL_LOAD_FAILED'],
    [['engine: error OUT_OF_MEMORY: /m/model.gguf: out of memory'], 'OUT_OF_MEMORY'],
    [
      [
        'llama.cpp error: ggml_backend_cpu_buffer_type_alloc_buffer: failed to allocate buffer of size 7516192768',
        'engine: error MODEL_LOAD_FAILED: /m/model.gguf: Failed to load model',
      ],
      'OUT_OF_MEMORY',
    ],
    [['engine: error PORT_IN_USE: 127.0.0.1:8080 is already in use'], 'PORT_IN_USE'],
    [['engine: error MODEL_NOT_FOUND: no GGUF file at /m/model.gguf'], 'MODEL_NOT_FOUND'],
    [['engine: listening on http://127.0.0.1:8080'], undefined],
  ])('classifies %j as %s', (lines, code) => {
    expect(classifyEngineFailure(lines, model)?.code).toBe(code);
  });
});

describe('llamacpp backend under the server manager', () => {
  async function engineServer(name: string, modelPath: string) {
    const t = await makeTestCore();
    cleanups.push(t.dispose);
    const backend = createLlamaCppBackend({
      settings: () => t.core.settings.get(),
      convert: convertToTiny([]),
      threads: 1,
    });
    const prepared: PreparedModel = {
      model_path: modelPath,
      gguf_path: modelPath,
      model_name: name,
      config: { context_length: 512 },
    };
    return { core: t.core, start: () => t.core.servers.start({ name, backend, model: prepared }) };
  }

  it('detects node-llama-cpp', async () => {
    const backend = createLlamaCppBackend({ settings, convert: convertToTiny([]) });
    const status = await backend.detect();
    expect(status).toMatchObject({ name: 'llamacpp', installed: true, version: 'node-llama-cpp 3.21.1' });
  });

  it('starts, answers chat through the openai client, crashes on kill -9, and stops', async () => {
    const { core, start } = await engineServer('tiny-engine', TINY_GGUF);
    const info = await start();
    expect(info).toMatchObject({ status: 'running', server_type: 'llamacpp' });
    expect(info.port).toBeGreaterThanOrEqual(8080);
    const client = new OpenAI({ baseURL: info.openai_base_url, apiKey: 'none', maxRetries: 0 });
    const answer = await client.chat.completions.create({
      model: 'tiny-engine',
      messages: [{ role: 'user', content: 'hi' }],
      max_tokens: 4,
      temperature: 0,
    });
    expect(answer.usage?.completion_tokens).toBe(4);

    process.kill(info.pid as number, 'SIGKILL');
    await waitFor(() => core.servers.get('tiny-engine').status === 'crashed', 2_000, 'the crash to be seen');
    await core.servers.restart('tiny-engine');
    expect(core.servers.get('tiny-engine').status).toBe('running');
    const stopped = await core.servers.stop('tiny-engine');
    expect(stopped.status).toBe('stopped');
    expect(stopped.exit).toEqual({ code: 0, signal: null });
  });

  it('fails a start on a broken GGUF with MODEL_LOAD_FAILED and its log tail', async () => {
    const broken = join(tempDir(), 'broken.gguf');
    writeFileSync(broken, readFileSync(TINY_GGUF).subarray(0, 1_000_000)); // a conversion cut off midway
    const { start } = await engineServer('broken', broken);
    const error = await start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BerthError);
    expect((error as BerthError).code).toBe('MODEL_LOAD_FAILED');
    expect((error as BerthError).message).toMatch(/broken\.gguf/);
  });

  it('is what POST /api/training/deploy runs for server_type "llamacpp" with a .gguf model_path', async () => {
    const t = await makeTestApi();
    cleanups.push(t.dispose);
    const deployed = await t.call('POST', '/api/training/deploy', {
      model_path: TINY_GGUF,
      server_type: 'llamacpp',
      name: 'via-api',
      config: { context_length: 512 },
    });
    expect(deployed.status).toBe(200);
    expect(deployed.body).toMatchObject({
      success: true,
      status: 'running',
      server_type: 'llamacpp',
      gguf_path: TINY_GGUF,
    });
    const client = new OpenAI({ baseURL: deployed.body.openai_base_url, apiKey: 'none', maxRetries: 0 });
    expect((await client.models.list()).data.map((m) => m.id)).toEqual(['via-api']);
    const removed = await t.call('DELETE', `/api/servers/${deployed.body.server_id}`);
    expect(removed.status).toBeLessThan(300);
  });

  it('serves an HF folder converted by the real converter (F16 for a tiny model), counting every token', async () => {
    const t = await makeTestCore();
    cleanups.push(t.dispose);
    const folder = fileURLToPath(new URL('../../checkpoints/__fixtures__/tiny-llama-bf16', import.meta.url));
    const deployed = await t.core.deploy.deploy({
      model_path: folder,
      server_type: 'llamacpp',
      name: 'hf-tiny',
      config: { context_length: 256 },
    });
    expect(deployed).toMatchObject({ status: 'running', quantization: 'F16' });
    const client = new OpenAI({ baseURL: deployed.openai_base_url, apiKey: 'none', maxRetries: 0 });
    // This model's first tokens are parts of multi-byte characters, which node-llama-cpp holds back from the
    // text: usage must still count every generated token.
    for (const max of [2, 3]) {
      const answer = await client.chat.completions.create({
        model: 'hf-tiny',
        messages: [{ role: 'user', content: 'hi' }],
        max_tokens: max,
        temperature: 0,
      });
      expect(answer.usage?.completion_tokens).toBe(max);
      expect(answer.choices[0]?.finish_reason).toBe('length');
    }
  });
});
