import { describe, expect, it } from 'vitest';
import type { LossPoint } from '../../../shared/checkpoints.js';
import { modelShape } from './shape.js';
import { parseTrainerState, thinHistory, trainingInfo } from './trainer-state.js';

describe('modelShape: transformers defaults', () => {
  it('num_kv_heads defaults to the heads, head_dim to hidden / heads', () => {
    const s = modelShape({
      architectures: ['LlamaForCausalLM'],
      model_type: 'llama',
      hidden_size: 64,
      num_attention_heads: 8,
      num_hidden_layers: 2,
      vocab_size: 100,
      max_position_embeddings: 128,
    });
    expect(s).toMatchObject({ num_kv_heads: 8, head_dim: 8, tie_word_embeddings: false, rope_scaling: null });
  });

  it('an explicit head_dim wins (Gemma-style head_dim != hidden / heads)', () => {
    const s = modelShape({
      architectures: ['Gemma2ForCausalLM'],
      model_type: 'gemma2',
      hidden_size: 2304,
      num_attention_heads: 8,
      num_key_value_heads: 4,
      head_dim: 256,
    });
    expect(s).toMatchObject({
      head_dim: 256,
      num_kv_heads: 4,
      tie_word_embeddings: true,
      vocab_size: 256000,
      context_length: 8192,
    });
  });

  it("fills fields a known model type leaves out from its config class's defaults", () => {
    const s = modelShape({ architectures: ['MistralForCausalLM'], model_type: 'mistral' });
    expect(s).toMatchObject({
      hidden_size: 4096,
      num_layers: 32,
      num_kv_heads: 8,
      vocab_size: 32000,
      context_length: 131072,
    });
  });

  it("reads transformers 5's rope_parameters and ignores the default rope", () => {
    const base = { architectures: ['LlamaForCausalLM'], model_type: 'llama' };
    expect(
      modelShape({ ...base, rope_parameters: { rope_type: 'default', rope_theta: 1e4 } }).rope_scaling,
    ).toBeNull();
    expect(modelShape({ ...base, rope_parameters: { rope_type: 'yarn', factor: 4 } }).rope_scaling).toEqual({
      rope_type: 'yarn',
      factor: 4,
    });
    expect(modelShape({ ...base, rope_scaling: { type: 'linear', factor: 2 } }).rope_scaling).toEqual({
      type: 'linear',
      factor: 2,
    });
  });

  it('reads a multimodal config from its text_config', () => {
    const s = modelShape({
      architectures: ['Gemma3ForConditionalGeneration'],
      model_type: 'gemma3',
      torch_dtype: 'bfloat16',
      text_config: {
        hidden_size: 2560,
        num_hidden_layers: 34,
        num_attention_heads: 8,
        num_key_value_heads: 4,
        head_dim: 256,
        vocab_size: 262208,
        max_position_embeddings: 131072,
      },
    });
    expect(s).toMatchObject({ hidden_size: 2560, num_layers: 34, head_dim: 256, torch_dtype: 'bfloat16' });
  });

  it('an unknown model type missing a field is CONFIG_INVALID naming the field', () => {
    expect(() => modelShape({ architectures: ['X'], model_type: 'x', hidden_size: 8 })).toThrow(
      expect.objectContaining({
        code: 'CONFIG_INVALID',
        message: expect.stringContaining('num_hidden_layers'),
      }),
    );
  });
});

describe('trainer_state.json', () => {
  const state = parseTrainerState({
    global_step: 30,
    best_model_checkpoint: '/abs/out/checkpoint-20',
    log_history: [
      { step: 10, loss: 3 },
      { step: 10, eval_loss: 3.5 },
      { step: 20, loss: 2 },
      { step: 20, eval_loss: 2.5 },
      { step: 30, loss: 'nan?' },
      'garbage',
      { step: 30, loss: 1.5 },
    ],
  });

  it('takes the last losses at or before a step, leniently', () => {
    expect(trainingInfo(state, 20)).toMatchObject({ train_loss: 2, eval_loss: 2.5 });
    expect(trainingInfo(state, 30)).toMatchObject({
      train_loss: 1.5,
      eval_loss: 2.5,
      best_model_checkpoint: '/abs/out/checkpoint-20',
    });
  });

  it('thins a long history to a bounded number of points, keeping every eval and the last point', () => {
    const history: LossPoint[] = Array.from({ length: 10_000 }, (_, i) => ({
      step: i + 1,
      loss: 1 / (i + 1),
    }));
    for (let s = 500; s <= 10_000; s += 500) history.push({ step: s, eval_loss: 1 });
    const thin = thinHistory(history, 400);
    expect(thin.length).toBeLessThanOrEqual(421);
    expect(thin.filter((p) => p.eval_loss !== undefined)).toHaveLength(20);
    expect(thin.at(-1)?.step).toBe(10_000);
  });
});
