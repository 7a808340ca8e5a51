import { describe, expect, it } from 'vitest';
import type { ModelShape } from '../../../shared/checkpoints.js';
import { modelShape } from '../checkpoints/shape.js';
import { formatRecommendation } from '../cli/commands/recommend.js';
import { countActiveParameters, countParameters } from './gguf-size.js';
import { kvCacheBytes, slidingCells } from './memory.js';
import { recommendDeployment } from './recommend.js';
import { MACHINES, machine } from './test-machines.js';

/** Qwen3-30B-A3B's config.json (the fields that shape it), as published. */
const QWEN3_30B_A3B = modelShape({
  architectures: ['Qwen3MoeForCausalLM'],
  model_type: 'qwen3_moe',
  hidden_size: 2048,
  intermediate_size: 6144,
  moe_intermediate_size: 768,
  num_hidden_layers: 48,
  num_attention_heads: 32,
  num_key_value_heads: 4,
  head_dim: 128,
  vocab_size: 151936,
  max_position_embeddings: 40960,
  num_experts: 128,
  num_experts_per_tok: 8,
  tie_word_embeddings: false,
  torch_dtype: 'bfloat16',
});

/** Gemma-3-4B's text_config (inside its Gemma3ForConditionalGeneration config.json), as published. */
const GEMMA3_4B = modelShape({
  architectures: ['Gemma3ForConditionalGeneration'],
  model_type: 'gemma3',
  text_config: {
    model_type: 'gemma3_text',
    hidden_size: 2560,
    intermediate_size: 10240,
    num_hidden_layers: 34,
    num_attention_heads: 8,
    num_key_value_heads: 4,
    head_dim: 256,
    sliding_window: 1024,
    rope_scaling: { rope_type: 'linear', factor: 8.0 },
  },
  torch_dtype: 'bfloat16',
});

const TOTAL = 30_532_122_624;
const ACTIVE = 3_353_032_704;

describe('mixture of experts in the memory model', () => {
  it('counts every expert as resident and 8 of 128 as active (Qwen3-30B-A3B)', () => {
    expect(QWEN3_30B_A3B).toMatchObject({ num_experts: 128, num_experts_used: 8 });
    expect(countParameters(QWEN3_30B_A3B)).toBe(TOTAL);
    expect(countActiveParameters(QWEN3_30B_A3B)).toBe(ACTIVE);
  });

  it('H100 (captured nvidia-smi): vLLM holds all 61 GB of BF16 weights; the reasons give the MoE arithmetic', () => {
    const r = recommendDeployment(machine(MACHINES.H100!), {
      shape: QWEN3_30B_A3B,
      parameters: TOTAL,
      active_parameters: ACTIVE,
    });
    expect(r.model.active_parameters).toBe(ACTIVE);
    const vllm = r.options.find((o) => o.backend === 'vllm')!;
    expect(vllm.recommended).toBe(true);
    expect(vllm.memory.weights_bytes).toBe(TOTAL * 2);
    // 48 layers x 4 KV heads x 128 x 2 (K, V) x 2 bytes = 96 KiB per token, x 8192 tokens
    expect(vllm.memory.kv_cache_bytes).toBe(48 * 4 * 128 * 2 * 2 * 8192);
    const text = formatRecommendation(r);
    expect(text).toContain('30.53 B parameters (3.35 B active per token)');
    expect(text).toContain(
      'all 128 experts of each layer stay in memory (56.9 GiB of weights for 30.53 B parameters); a token runs through 8 of them, 3.35 B active parameters',
    );
  });

  it('RTX 4080 SUPER (16 GB, captured): even Q4_K_M of all experts does not fit, so layers are offloaded', () => {
    const r = recommendDeployment(machine(MACHINES['RTX 4080 SUPER']!), {
      shape: QWEN3_30B_A3B,
      parameters: TOTAL,
    });
    const pick = r.options.find((o) => o.recommended)!;
    expect(pick.backend).not.toBe('vllm');
    expect(pick.placement).toBe('partial');
    // the active count is derived from the shape when the checkpoint gave none
    expect(r.model.active_parameters).toBe(ACTIVE);
    expect(pick.reasons.some((x) => x.startsWith('Mixture of experts: all 128 experts'))).toBe(true);
  });

  it('two H100s (the captured one, twice): a long, parallel context needs tensor parallel; expert parallel is named', () => {
    const h100 = MACHINES.H100![0]!;
    const two = machine([h100, { ...h100, index: 1, uuid: `${h100.uuid}-b` }]);
    const r = recommendDeployment(
      two,
      { shape: QWEN3_30B_A3B, parameters: TOTAL, active_parameters: ACTIVE },
      { context_length: 40960, parallel: 8 },
    );
    const vllm = r.options.find((o) => o.backend === 'vllm')!;
    expect(vllm.config.tensor_parallel_size).toBe(2);
    expect(vllm.fit).not.toBe('does_not_fit');
    expect(vllm.reasons.join('\n')).toContain(
      "tensor_parallel_size 2 splits every expert across the 2 GPUs; vLLM's --enable-expert-parallel",
    );
  });
});

describe('sliding-window layers in the KV cache', () => {
  it('Gemma 3 4B: 29 of 34 layers are sliding-window (every 6th global)', () => {
    expect(GEMMA3_4B).toMatchObject({ sliding_window: 1024, sliding_window_layers: 29, num_layers: 34 });
  });

  it('local layers hold only the window: vLLM the window, llama.cpp the window + a micro-batch', () => {
    const perToken = 2 * 4 * 256 * 2; // K and V, 4 KV heads, head dim 256, f16
    // 5 global layers x 32768 tokens + 29 local layers x 1024 (vLLM), 1024 + 512 = 1536 (Ollama) or
    // 1024 + 513 padded to 256 = 1792 (node-llama-cpp) cells
    expect(kvCacheBytes(GEMMA3_4B, 32768, 2, 1, 'vllm')).toBe(perToken * (5 * 32768 + 29 * 1024));
    expect(kvCacheBytes(GEMMA3_4B, 32768, 2, 1, 'ollama')).toBe(perToken * (5 * 32768 + 29 * 1536));
    expect(kvCacheBytes(GEMMA3_4B, 32768, 2, 1, 'llamacpp')).toBe(perToken * (5 * 32768 + 29 * 1792));
    // two sequences: each has its own window
    expect(slidingCells(1024, 32768, 2, 'llamacpp')).toBe(2 * 1792);
    // shorter than the window: every layer holds the context
    expect(kvCacheBytes(GEMMA3_4B, 512, 2, 1, 'vllm')).toBe(perToken * 34 * 512);
    expect(slidingCells(1024, 512, 1, 'llamacpp')).toBe(512);
    // the old count (every layer in full) was 5.5x too much at 32K
    const full: ModelShape = { ...GEMMA3_4B, sliding_window_layers: 0 };
    expect(kvCacheBytes(full, 32768, 2) / kvCacheBytes(GEMMA3_4B, 32768, 2)).toBeGreaterThan(5);
  });

  it('the recommendation says the sliding window applied', () => {
    const r = recommendDeployment(
      machine(MACHINES['RTX 4080 SUPER']!),
      { shape: GEMMA3_4B },
      { context_length: 32768 },
    );
    const llama = r.options.find((o) => o.backend === 'llamacpp')!;
    expect(llama.memory.kv_cache_bytes).toBe(kvCacheBytes(GEMMA3_4B, 32768, 2, 1, 'llamacpp'));
    expect(llama.reasons).toContain(
      'KV cache: 29 of 34 layers use a 1024-token sliding window and hold 1792 tokens (the window + one 513-token batch, padded to 256, as llama.cpp allocates); the other 5 hold the full 32768.',
    );
  });
});
