import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { inspectPath } from './inspect.js';
import { FIXTURES } from './test-fixtures.js';

/** Facts computed by the reference Python libraries (expected.py), not by the code under test. */
const expected = JSON.parse(readFileSync(join(FIXTURES, 'expected.json'), 'utf8')) as Record<
  string,
  { parameters: number; dtypes?: string[]; size_bytes?: number; [k: string]: unknown }
>;
const env = { HOME: '/nonexistent-home' };
const inspect = (rel: string) => inspectPath(join(FIXTURES, rel), { env });

describe('inspectPath on real saved models', () => {
  it.each(['tiny-llama-bf16', 'tiny-qwen2-sharded', 'tiny-mistral-f32', 'shared/fake-gpt2'])(
    '%s: parameter count, dtypes and size match the safetensors library',
    async (rel) => {
      const result = await inspect(rel);
      const [model] = result.checkpoints;
      expect(result.kind).toBe('model');
      expect(model?.errors).toEqual([]);
      expect(model?.parameters).toBe(expected[rel]?.parameters);
      expect(model?.dtypes).toEqual(expected[rel]?.dtypes);
      expect(model?.size_bytes).toBe(expected[rel]?.size_bytes);
    },
  );

  it('describes a Llama folder: shape from config, SentencePiece tokenizer, chat template, both verdicts yes', async () => {
    const [model] = (await inspect('tiny-llama-bf16')).checkpoints;
    expect(model).toMatchObject({
      kind: 'hf-model',
      architecture: 'LlamaForCausalLM',
      model_type: 'llama',
      vllm_servable: { ok: true },
      gguf_convertible: { ok: true },
      tokenizer: {
        kind: 'sentencepiece',
        chat_template: true,
        chat_template_source: 'tokenizer_config.json',
      },
    });
    expect(model?.shape).toMatchObject({
      num_layers: 2,
      hidden_size: 16,
      num_attention_heads: 4,
      num_kv_heads: 2,
      head_dim: 4,
      vocab_size: 320,
      context_length: 256,
      tie_word_embeddings: false,
      torch_dtype: 'bfloat16',
      rope_scaling: { rope_type: 'linear', factor: 2 },
    });
  });

  it('reads every shard an index names, a BPE tokenizer.json and chat_template.jinja', async () => {
    const [model] = (await inspect('tiny-qwen2-sharded')).checkpoints;
    expect(model?.weight_files).toHaveLength(4);
    expect(model?.shape?.tie_word_embeddings).toBe(true);
    expect(model?.tokenizer).toMatchObject({
      kind: 'bpe',
      chat_template: true,
      chat_template_source: 'chat_template.jinja',
    });
    const [mistral] = (await inspect('tiny-mistral-f32')).checkpoints;
    expect(mistral?.tokenizer).toMatchObject({ kind: 'bpe', chat_template: false });
  });

  it('fills in transformers defaults for an old config (no num_key_value_heads, no head_dim)', async () => {
    const [model] = (await inspect('shared/tiny-random-llama-spm')).checkpoints;
    expect(model?.shape).toMatchObject({
      hidden_size: 4,
      num_attention_heads: 2,
      num_kv_heads: 2,
      head_dim: 2,
    });
  });

  it('says why GPT-2 is servable by vLLM but not convertible to GGUF', async () => {
    const [model] = (await inspect('shared/fake-gpt2')).checkpoints;
    expect(model?.vllm_servable).toEqual({ ok: true });
    expect(model?.gguf_convertible).toMatchObject({ ok: false, code: 'UNSUPPORTED_ARCHITECTURE' });
    expect(model?.gguf_convertible?.reason).toContain('GPT2LMHeadModel');
    // GPT-2 names its facts n_embd / n_layer / n_head / n_positions
    expect(model?.shape).toMatchObject({
      hidden_size: 2,
      num_layers: 1,
      num_attention_heads: 1,
      context_length: 1024,
    });
  });
});

describe('inspectPath on a real Trainer run', () => {
  it('lists checkpoint-N folders by step, the final model last, with losses from trainer_state.json', async () => {
    const run = await inspect('trainer-run');
    expect(run.kind).toBe('run');
    expect(run.checkpoints.map((c) => c.relative_path)).toEqual([
      'checkpoint-3',
      'checkpoint-6',
      'checkpoint-9',
      'checkpoint-12',
      '.',
    ]);
    expect(run.checkpoints.map((c) => c.step)).toEqual([3, 6, 9, 12, 12]);
    const state = JSON.parse(readFileSync(join(FIXTURES, 'trainer-run/trainer_state.json'), 'utf8'));
    const evals = state.log_history.filter((e: { eval_loss?: number }) => e.eval_loss !== undefined);
    const c6 = run.checkpoints[1];
    expect(c6?.training?.eval_loss).toBe(evals.find((e: { step: number }) => e.step === 6).eval_loss);
    expect(c6?.training?.train_loss).toBe(
      state.log_history.find((e: { step: number; loss?: number }) => e.step === 6 && e.loss).loss,
    );
    expect(run.checkpoints.at(-1)).toMatchObject({ relative_path: '.', is_final: true });
  });

  it("marks the Trainer's best checkpoint and keeps the whole loss curve", async () => {
    const run = await inspect('trainer-run');
    const state = JSON.parse(readFileSync(join(FIXTURES, 'trainer-run/trainer_state.json'), 'utf8'));
    const bestName = state.best_model_checkpoint.split('/').pop();
    expect(run.best_checkpoint).toBe(bestName);
    expect(run.checkpoints.filter((c) => c.is_best).map((c) => c.relative_path)).toEqual([bestName]);
    expect(run.loss_history.filter((p) => p.loss !== undefined)).toHaveLength(state.global_step);
    expect(run.loss_history.filter((p) => p.eval_loss !== undefined)).toHaveLength(4);
    expect(run.checkpoints[0]?.parameters).toBe(expected['trainer-run/checkpoint-3']?.parameters);
  });
});

describe('inspectPath on adapters and GGUF', () => {
  it('describes a LoRA adapter and finds its base next to it', async () => {
    const result = await inspect('lora-adapter');
    const [adapter] = result.checkpoints;
    expect(result.kind).toBe('adapter');
    expect(adapter).toMatchObject({
      kind: 'lora-adapter',
      architecture: 'LlamaForCausalLM',
      parameters: expected['lora-adapter']?.parameters,
      lora: { rank: 4, alpha: 8, target_modules: ['q_proj', 'v_proj'], base_model: '../tiny-llama-bf16' },
      vllm_servable: { ok: true },
      gguf_convertible: { ok: true },
    });
    expect(adapter?.lora?.base_model_path).toBe(join(FIXTURES, 'tiny-llama-bf16'));
  });

  it("reads the header of a GGUF made by Ollama's developers", async () => {
    const file = 'shared/ollama-tiny-gguf/llama-2-tiny-random.gguf';
    const want = expected[file] as Record<string, number | string>;
    const result = await inspect(file);
    const [gguf] = result.checkpoints;
    expect(result.kind).toBe('gguf');
    expect(gguf?.gguf).toMatchObject({
      version: want.version,
      architecture: want.architecture,
      context_length: want.context_length,
      tensor_count: want.tensor_count,
      file_type: 'MOSTLY_F16', // general.file_type 1 in llama.cpp's enum
    });
    expect(want.file_type).toBe(1);
    expect(gguf?.parameters).toBe(want.parameters);
    expect(gguf?.tokenizer?.kind).toBe('sentencepiece');
    expect(gguf?.vllm_servable).toMatchObject({ ok: false, code: 'GGUF_FILE' });
    expect(gguf?.gguf_convertible?.ok).toBe(true);
  });

  it('finds a GGUF file inside a folder', async () => {
    const result = await inspect('shared/ollama-tiny-gguf');
    expect(result.kind).toBe('gguf');
    expect(result.checkpoints.map((c) => c.relative_path)).toEqual(['llama-2-tiny-random.gguf']);
  });
});
