import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../engine/__fixtures__/engine-process.js';
import { survivors } from '../servers/test-support/standin.js';
import { makeTestApi } from '../test-support/core.js';
import {
  OLLAMA_STANDIN_DIR,
  recordingConverterPython,
  TRAINER_RUN,
  VENV_PYTHON,
  VLLM_STANDIN_DIR,
} from './test-support.js';

const FIXTURES = join(TRAINER_RUN, '..');
const LORA_RUN = join(FIXTURES, 'lora-run');
const BASE = join(FIXTURES, 'tiny-llama-bf16');
const OTHER_BASE = join(FIXTURES, 'tiny-mistral-f32');

// LoRA adapters deployed through real HTTP: the real core, the real converters (python/convert_to_gguf.py and
// python/lora_to_gguf.py as child processes), real adapters made with peft (lora-run/, make_lora_fixtures.py)
// and the built-in engine with node-llama-cpp's LoRA support for real. vLLM and Ollama are their stand-ins
// (test-standins/): the Ollama stand-in runs the model and its ADAPTER layer in real llama.cpp.
const haveVenv = existsSync(VENV_PYTHON);
type Api = Awaited<ReturnType<typeof makeTestApi>>;
let t: Api;
const converter = recordingConverterPython();
const scratch = mkdtempSync(join(tmpdir(), 'berth-lora-'));
const hfHome = join(scratch, 'hf');
/** Each test starts servers and converters on a shared 2-core machine. */
const SLOW = 300_000;

/** A copy of an adapter with adapter_config.json edited. */
function adapterCopy(from: string, name: string, edit: Record<string, unknown>): string {
  const dir = join(scratch, name);
  cpSync(from, dir, { recursive: true });
  const configPath = join(dir, 'adapter_config.json');
  const config = JSON.parse(readFileSync(configPath, 'utf8'));
  writeFileSync(configPath, JSON.stringify({ ...config, ...edit }));
  return dir;
}

async function complete(baseUrl: string, model: string): Promise<string> {
  const res = await fetch(`${baseUrl}/v1/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model, prompt: 'Hello', max_tokens: 12, temperature: 0 }),
  });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { choices: Array<{ text: string }> };
  return body.choices[0]?.text ?? '';
}

describe.skipIf(!haveVenv)('LoRA adapters: POST /api/training/deploy', () => {
  beforeAll(async () => {
    t = await makeTestApi({
      env: {
        ...process.env,
        PYTHONPATH: VLLM_STANDIN_DIR,
        PATH: `${OLLAMA_STANDIN_DIR}:${process.env.PATH}`,
        BERTH_STANDIN_DELAY_MS: '50',
        HF_HOME: hfHome,
      },
    });
    t.core.settings.update({
      python: { converter: converter.python },
      ollama: { host: `http://127.0.0.1:${await freePort()}` },
    });
  }, SLOW);
  afterAll(async () => {
    await t?.dispose();
    expect(survivors()).toEqual([]);
  }, SLOW);

  let bareText = '';
  let adapterText = '';

  it(
    'built-in engine, adapter over the base GGUF: the base converted once and shared, one small GGUF per checkpoint',
    async () => {
      const runs = converter.runs().length;
      const bare = await t.call('POST', '/api/training/deploy', {
        model_path: BASE,
        server_type: 'llamacpp',
        name: 'bare-base',
        config: { quantization: 'F16', context_length: 256 },
      });
      expect(bare.status, JSON.stringify(bare.body)).toBe(200);
      bareText = await complete(bare.body.base_url, 'bare-base');

      const first = await t.call('POST', '/api/training/deploy', {
        model_path: join(LORA_RUN, 'checkpoint-2'),
        server_type: 'llamacpp',
        name: 'lora-ckpt-2',
        config: { quantization: 'F16', context_length: 256, adapter_mode: 'adapter' },
      });
      expect(first.status, JSON.stringify(first.body)).toBe(200);
      expect(first.body).toMatchObject({
        adapter_mode: 'adapter',
        quantization: 'F16',
        server_type: 'llamacpp',
      });
      expect(first.body.gguf_path).toBe(bare.body.gguf_path); // the cached base GGUF, shared
      expect(first.body.adapter_gguf_path).toMatch(/\.gguf$/);
      expect(first.body.adapter_mode_reason).toContain('switching checkpoints');
      // the base was converted once (for the bare deploy); the adapter is one lora_to_gguf.py run
      const lora = converter.runs().slice(runs);
      expect(lora.filter((r) => r.includes('convert_to_gguf.py'))).toHaveLength(1);
      expect(lora.filter((r) => r.includes('lora_to_gguf.py') && r.includes('--mode adapter'))).toHaveLength(
        1,
      );
      const server = await t.call('GET', `/api/servers/${first.body.server_id}`);
      const cmd: string[] = server.body.command;
      expect(cmd[cmd.indexOf('--lora') + 1]).toBe(first.body.adapter_gguf_path);
      adapterText = await complete(first.body.base_url, 'lora-ckpt-2');
      expect(adapterText).not.toBe(bareText); // the adapter is applied
      // base vs adapter on one server: `<name>-base` is the same weights without the adapter
      expect(server.body.base_model_name).toBe('lora-ckpt-2-base');
      const models = (await (await fetch(`${first.body.base_url}/v1/models`)).json()) as {
        data: Array<{ id: string }>;
      };
      expect(models.data.map((m) => m.id)).toEqual(['lora-ckpt-2', 'lora-ckpt-2-base']);
      expect(await complete(first.body.base_url, 'lora-ckpt-2-base')).toBe(bareText);
      const playground = await t.raw('POST', `/api/servers/${first.body.server_id}/chat`, {
        messages: [{ role: 'user', content: 'Hello' }],
        max_tokens: 4,
        temperature: 0,
        base: true,
      });
      expect(playground.status).toBe(200);
      expect(playground.text).toContain('"berth"'); // the final usage chunk: the base model answered
      const bareServer = await t.call('GET', `/api/servers/${bare.body.server_id}`);
      expect(bareServer.body.base_model_name).toBeUndefined();
      const noBase = await t.raw('POST', `/api/servers/${bare.body.server_id}/chat`, {
        messages: [{ role: 'user', content: 'Hello' }],
        base: true,
      });
      expect(noBase.text).toContain('NO_BASE_MODEL');

      const second = await t.call('POST', '/api/training/deploy', {
        model_path: join(LORA_RUN, 'checkpoint-4'),
        server_type: 'llamacpp',
        name: 'lora-ckpt-4',
        config: { quantization: 'F16', context_length: 256, adapter_mode: 'adapter' },
      });
      expect(second.status, JSON.stringify(second.body)).toBe(200);
      expect(second.body.gguf_path).toBe(bare.body.gguf_path);
      expect(second.body.adapter_gguf_path).not.toBe(first.body.adapter_gguf_path);
      expect(
        converter
          .runs()
          .slice(runs)
          .filter((r) => r.includes('convert_to_gguf.py')),
      ).toHaveLength(1);
      const cache = await t.call('GET', '/api/conversions/cache');
      const adapterEntry = cache.body.entries.find(
        (e: { gguf_path: string }) => e.gguf_path === second.body.adapter_gguf_path,
      );
      expect(adapterEntry).toMatchObject({ lora_mode: 'adapter', base_model_path: BASE });
      for (const id of [bare.body.server_id, second.body.server_id])
        await t.call('DELETE', `/api/servers/${id}`);
    },
    SLOW,
  );

  it(
    'built-in engine, merged: one GGUF with the adapter folded in, no --lora, same greedy start',
    async () => {
      const res = await t.call('POST', '/api/training/deploy', {
        model_path: join(LORA_RUN, 'checkpoint-2'),
        server_type: 'llamacpp',
        name: 'lora-merged',
        config: { quantization: 'F16', context_length: 256, adapter_mode: 'merged' },
      });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body.adapter_mode).toBe('merged');
      expect(res.body.adapter_gguf_path).toBeUndefined();
      expect(converter.runs().at(-1)).toContain('--mode merged');
      const server = await t.call('GET', `/api/servers/${res.body.server_id}`);
      expect(server.body.command).not.toContain('--lora');
      const text = await complete(res.body.base_url, 'lora-merged');
      expect(text).not.toBe(bareText);
      // merged (F16 weights with the delta folded in) and adapter (F16 base + F16 LoRA) round differently;
      // greedy decoding of a tiny random model agrees on the first tokens (the distributions: test_lora.py)
      expect(text.slice(0, 8)).toBe(adapterText.slice(0, 8));
      await t.call('DELETE', `/api/servers/${res.body.server_id}`);
    },
    SLOW,
  );

  it(
    'Ollama: merged by default below Q8_0 with the reason; adapter mode imports an ADAPTER layer',
    async () => {
      const merged = await t.call('POST', '/api/training/deploy', {
        model_path: join(LORA_RUN, 'checkpoint-2'),
        server_type: 'ollama',
        name: 'ollama-lora-q4',
        config: { quantization: 'Q4_K_M', context_length: 256 },
      });
      expect(merged.status, JSON.stringify(merged.body)).toBe(200);
      expect(merged.body.adapter_mode).toBe('merged');
      expect(merged.body.adapter_mode_reason).toContain('below Q8_0');

      const adapter = await t.call('POST', '/api/training/deploy', {
        model_path: join(LORA_RUN, 'checkpoint-2'),
        server_type: 'ollama',
        name: 'ollama-lora',
        config: { quantization: 'F16', context_length: 256, adapter_mode: 'adapter' },
      });
      expect(adapter.status, JSON.stringify(adapter.body)).toBe(200);
      expect(adapter.body.adapter_mode).toBe('adapter');
      const show = await fetch(`${adapter.body.base_url}/api/show`, {
        method: 'POST',
        body: JSON.stringify({ model: 'ollama-lora' }),
      });
      const modelfile = ((await show.json()) as { modelfile: string }).modelfile;
      expect(modelfile).toMatch(/^ADAPTER .*sha256-[0-9a-f]{64}$/m);
      const gen = await fetch(`${adapter.body.base_url}/api/generate`, {
        method: 'POST',
        body: JSON.stringify({
          model: 'ollama-lora',
          prompt: 'Hello',
          stream: false,
          options: { num_predict: 4 },
        }),
      });
      expect(gen.status).toBe(200);
      for (const id of [merged.body.server_id, adapter.body.server_id])
        await t.call('DELETE', `/api/servers/${id}`);
    },
    SLOW,
  );

  it(
    'a hub-id base is found in the Hugging Face cache at the revision refs/main names; vLLM gets --max-lora-rank',
    async () => {
      const repo = join(hfHome, 'hub', 'models--berth-test--tiny-llama');
      cpSync(BASE, join(repo, 'snapshots', 'aaa111'), { recursive: true });
      // a newer snapshot of something else: refs/main, not the newest folder, decides
      cpSync(OTHER_BASE, join(repo, 'snapshots', 'bbb222'), { recursive: true });
      const later = new Date(Date.now() + 60_000);
      utimesSync(join(repo, 'snapshots', 'bbb222'), later, later);
      mkdirSync(join(repo, 'refs'), { recursive: true });
      writeFileSync(join(repo, 'refs', 'main'), 'aaa111');
      const hubAdapter = adapterCopy(join(LORA_RUN, 'checkpoint-4'), 'hub-adapter', {
        base_model_name_or_path: 'berth-test/tiny-llama',
      });
      const res = await t.call('POST', '/api/training/deploy', {
        model_path: hubAdapter,
        server_type: 'vllm',
        name: 'hub-lora',
      });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      const server = await t.call('GET', `/api/servers/${res.body.server_id}`);
      const cmd: string[] = server.body.command;
      expect(cmd[cmd.indexOf('--model') + 1]).toBe(join(repo, 'snapshots', 'aaa111'));
      expect(cmd[cmd.indexOf('--max-lora-rank') + 1]).toBe('32'); // r = 32: above vLLM's default 16
      await t.call('DELETE', `/api/servers/${res.body.server_id}`);

      // the same adapter to the built-in engine, merged, from the cached base
      const engine = await t.call('POST', '/api/training/deploy', {
        model_path: hubAdapter,
        server_type: 'llamacpp',
        name: 'hub-lora-engine',
        config: { quantization: 'F16', context_length: 256, adapter_mode: 'merged' },
      });
      expect(engine.status, JSON.stringify(engine.body)).toBe(200);
      expect(converter.runs().at(-1)).toContain(`--base ${join(repo, 'snapshots', 'aaa111')}`);
      await t.call('DELETE', `/api/servers/${engine.body.server_id}`);
    },
    SLOW,
  );

  it(
    'vLLM: several checkpoints of one run on one server, one --lora-modules entry each',
    async () => {
      const job = await t.call('POST', '/api/training/jobs', { path: LORA_RUN });
      expect([200, 201]).toContain(job.status);
      const res = await t.call('POST', '/api/training/deploy', {
        job_id: job.body.id,
        server_type: 'vllm',
        checkpoint_path: 'checkpoint-2',
        checkpoint_paths: ['checkpoint-4'],
        name: 'run-loras',
      });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      const server = await t.call('GET', `/api/servers/${res.body.server_id}`);
      const cmd: string[] = server.body.command;
      const at = cmd.indexOf('--lora-modules');
      expect(cmd.slice(at + 1, at + 3)).toEqual([
        `run-loras=${join(LORA_RUN, 'checkpoint-2')}`,
        `run-loras-checkpoint-4=${join(LORA_RUN, 'checkpoint-4')}`,
      ]);
      expect(cmd[cmd.indexOf('--max-lora-rank') + 1]).toBe('32'); // the larger of r=4 and r=32
      expect(cmd[cmd.indexOf('--max-loras') + 1]).toBe('2');
      const models = (await (await fetch(`${res.body.base_url}/v1/models`)).json()) as {
        data: Array<{ id: string }>;
      };
      expect(models.data.map((m) => m.id)).toEqual(
        expect.arrayContaining(['run-loras', 'run-loras-checkpoint-4', 'run-loras-base']),
      );
      expect(server.body.base_model_name).toBe('run-loras-base'); // what the playground compares with
      await t.call('DELETE', `/api/servers/${res.body.server_id}`);
      const engine = await t.call('POST', '/api/training/deploy', {
        job_id: job.body.id,
        server_type: 'llamacpp',
        checkpoint_path: 'checkpoint-2',
        checkpoint_paths: ['checkpoint-4'],
        name: 'run-loras-engine',
      });
      expect(engine.status).toBe(400);
    },
    SLOW,
  );

  it(
    'a base that does not match: 422 with both shapes, before any conversion',
    async () => {
      const runs = converter.runs().length;
      const res = await t.call('POST', '/api/training/deploy', {
        model_path: join(LORA_RUN, 'checkpoint-2'),
        base_model_path: OTHER_BASE,
        server_type: 'llamacpp',
        name: 'mismatch',
      });
      expect(res.status).toBe(422);
      expect(res.body.error.code).toBe('ADAPTER_BASE_MISMATCH');
      expect(res.body.error.message).toContain('[8, 16] in the adapter');
      expect(res.body.error.message).toContain('[16, 16] in the base');
      expect(converter.runs().length).toBe(runs);
    },
    SLOW,
  );

  it(
    'a base that is nowhere: 422 saying how to give it; base_model_path then deploys it',
    async () => {
      const missing = adapterCopy(join(LORA_RUN, 'checkpoint-2'), 'missing-base', {
        base_model_name_or_path: 'acme-missing/base-7b',
      });
      const res = await t.call('POST', '/api/training/deploy', {
        model_path: missing,
        server_type: 'llamacpp',
        name: 'no-base',
      });
      expect(res.status).toBe(422);
      expect(res.body.error.code).toBe('ADAPTER_BASE_MISSING');
      expect(res.body.error.hint).toContain('base_model_path');
      expect(res.body.error.hint).toContain('--base');
      const given = await t.call('POST', '/api/training/deploy', {
        model_path: missing,
        base_model_path: BASE,
        server_type: 'vllm',
        name: 'given-base',
      });
      expect(given.status, JSON.stringify(given.body)).toBe(200);
      await t.call('DELETE', `/api/servers/${given.body.server_id}`);
    },
    SLOW,
  );

  it(
    'DoRA on a GGUF backend: 422 naming the modules, nothing converted',
    async () => {
      const runs = converter.runs().length;
      const dora = adapterCopy(join(LORA_RUN, 'checkpoint-2'), 'dora', {
        use_dora: true,
        base_model_name_or_path: BASE,
      });
      const res = await t.call('POST', '/api/training/deploy', {
        model_path: dora,
        server_type: 'ollama',
        name: 'dora',
      });
      expect(res.status).toBe(422);
      expect(res.body.error.code).toBe('ADAPTER_UNSUPPORTED');
      expect(res.body.error.message).toContain('q_proj');
      expect(converter.runs().length).toBe(runs);
    },
    SLOW,
  );
});
