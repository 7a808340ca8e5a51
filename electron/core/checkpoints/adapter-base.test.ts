import { mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BerthError } from '../errors.js';
import { checkAdapterBase, hubSnapshot } from './adapter-base.js';
import { copyFixture, FIXTURES, tempDir, writeSafetensors } from './test-fixtures.js';

// The adapter-vs-base check on real files: the peft-made adapters of lora-run/ over tiny-llama-bf16, and
// copies of them with adapter_config.json or the tensor names edited into what llama.cpp cannot run.
const BASE = join(FIXTURES, 'tiny-llama-bf16');
let cleanup: (() => void) | undefined;
afterEach(() => cleanup?.());

function adapterCopy(edit: Record<string, unknown> = {}): string {
  const t = tempDir('berth-adapter-');
  cleanup = t.cleanup;
  const dir = copyFixture('lora-run/checkpoint-2', t.dir, 'adapter');
  const path = join(dir, 'adapter_config.json');
  writeFileSync(path, JSON.stringify({ ...JSON.parse(readFileSync(path, 'utf8')), ...edit }));
  return dir;
}

async function codeOf(promise: Promise<unknown>): Promise<BerthError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(BerthError);
  return error as BerthError;
}

describe('checkAdapterBase', () => {
  it('a peft adapter over its base: rank, alpha, the adapted weights and both parameter counts', async () => {
    const facts = await checkAdapterBase(join(FIXTURES, 'lora-run', 'checkpoint-4'), BASE, true);
    expect(facts).toMatchObject({ rank: 32, alpha: 16, rslora: true, modules_to_save: [] });
    expect(facts.adapted).toHaveLength(14); // 7 modules x 2 layers
    expect(facts.adapted).toContain('model.layers.1.mlp.down_proj.weight');
    expect(facts.base).toEqual({ architecture: 'LlamaForCausalLM', hidden_size: 16, layers: 2 });
    // r = 32 on 7 modules x 2 layers of a hidden-16 model: 32 x (in + out) each; the base's own count
    expect(facts.adapter_parameters).toBe(16_384);
    expect(facts.base_parameters).toBe(14_928);
  });

  it('a wrong base: ADAPTER_BASE_MISMATCH with both shapes', async () => {
    const e = await codeOf(checkAdapterBase(adapterCopy(), join(FIXTURES, 'tiny-mistral-f32'), true));
    expect(e.code).toBe('ADAPTER_BASE_MISMATCH');
    expect(e.details).toMatchObject({ adapter_shape: [8, 16], base_shape: [16, 16] });
  });

  it('DoRA and fan_in_fan_out fail at once, naming the modules; DoRA is fine for vLLM', async () => {
    const dora = adapterCopy({ use_dora: true });
    const e = await codeOf(checkAdapterBase(dora, BASE, true));
    expect(e.code).toBe('ADAPTER_UNSUPPORTED');
    expect(e.message).toMatch(/DoRA.*q_proj/);
    await expect(checkAdapterBase(dora, BASE, false)).resolves.toMatchObject({ rank: 4 });
    const fan = await codeOf(checkAdapterBase(adapterCopy({ fan_in_fan_out: true }), BASE, false));
    expect(fan.code).toBe('ADAPTER_UNSUPPORTED');
    expect(fan.message).toContain('fan_in_fan_out');
  });

  it('a LoRA bias (lora_bias): ADAPTER_UNSUPPORTED naming the module (GGUF only)', async () => {
    const dir = adapterCopy();
    writeSafetensors(join(dir, 'adapter_model.safetensors'), {
      'base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight': { dtype: 'F32', shape: [4, 16] },
      'base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight': { dtype: 'F32', shape: [16, 4] },
      'base_model.model.model.layers.0.self_attn.q_proj.lora_B.bias': { dtype: 'F32', shape: [16] },
    });
    const bias = await codeOf(checkAdapterBase(dir, BASE, true));
    expect(bias.code).toBe('ADAPTER_UNSUPPORTED');
    expect(bias.message).toContain('model.layers.0.self_attn.q_proj');
  });

  it('an adapter on a module missing from the base is a mismatch naming it', async () => {
    const dir = adapterCopy();
    writeSafetensors(join(dir, 'adapter_model.safetensors'), {
      'base_model.model.model.layers.7.self_attn.q_proj.lora_A.weight': { dtype: 'F32', shape: [4, 16] },
      'base_model.model.model.layers.7.self_attn.q_proj.lora_B.weight': { dtype: 'F32', shape: [16, 4] },
    });
    const e = await codeOf(checkAdapterBase(dir, BASE, false));
    expect(e.code).toBe('ADAPTER_BASE_MISMATCH');
    expect(e.message).toContain(
      'model.layers.7.self_attn.q_proj is [16, 16] in the adapter, missing in the base',
    );
  });
});

describe('hubSnapshot', () => {
  it('takes the revision refs/main names, else the newest snapshot with a config.json', () => {
    const t = tempDir('berth-hf-');
    cleanup = t.cleanup;
    const repo = join(t.dir, 'hub', 'models--org--name');
    for (const rev of ['old', 'new', 'empty']) mkdirSync(join(repo, 'snapshots', rev), { recursive: true });
    writeFileSync(join(repo, 'snapshots', 'old', 'config.json'), '{}');
    writeFileSync(join(repo, 'snapshots', 'new', 'config.json'), '{}');
    const later = new Date(Date.now() + 60_000);
    utimesSync(join(repo, 'snapshots', 'new'), later, later);
    const env = { HF_HOME: t.dir };
    expect(hubSnapshot('org/name', env)).toBe(join(repo, 'snapshots', 'new'));
    mkdirSync(join(repo, 'refs'));
    writeFileSync(join(repo, 'refs', 'main'), 'old\n');
    expect(hubSnapshot('org/name', env)).toBe(join(repo, 'snapshots', 'old'));
    // HF_HUB_CACHE wins over HF_HOME; ids that are not org/name are never looked up
    expect(hubSnapshot('org/name', { HF_HOME: '/nonexistent', HF_HUB_CACHE: join(t.dir, 'hub') })).toBe(
      join(repo, 'snapshots', 'old'),
    );
    expect(hubSnapshot('../etc', env)).toBeUndefined();
    expect(hubSnapshot('org/other', env)).toBeUndefined();
  });
});
