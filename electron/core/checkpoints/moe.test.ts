import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../cli/main.js';
import type { CliIo } from '../cli/output.js';
import { inspectPath } from './inspect.js';
import { type FakeTensor, tempDir, writeSafetensors } from './test-fixtures.js';

/** Qwen3-30B-A3B's config.json as published (the fields that shape it). */
const CONFIG = {
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
  norm_topk_prob: true,
  decoder_sparse_step: 1,
  mlp_only_layers: [],
  tie_word_embeddings: false,
  rope_theta: 1000000.0,
  rms_norm_eps: 1e-6,
  torch_dtype: 'bfloat16',
};

/**
 * The expected counts, from the config alone (not from the tensors the test writes): embeddings and LM head,
 * final norm, and per layer q/k/v/o, q/k norms, two layer norms, the router and 128 experts of three
 * 2048 x 768 matrices. One token runs through 8 of the 128 experts.
 */
function expectedCounts() {
  const c = CONFIG;
  const E = c.hidden_size;
  const q = c.num_attention_heads * c.head_dim;
  const kv = c.num_key_value_heads * c.head_dim;
  const expert = 3 * E * c.moe_intermediate_size;
  const attention = E * q + 2 * E * kv + q * E + 2 * c.head_dim + 2 * E;
  const layer = attention + c.num_experts * E + c.num_experts * expert;
  const total = 2 * c.vocab_size * E + E + c.num_hidden_layers * layer;
  const active = total - c.num_hidden_layers * (c.num_experts - c.num_experts_per_tok) * expert;
  return { total, active };
}

/** Writes the checkpoint as 16 shards of holes (truncated up: ~61 GB apparent, nothing on disk) + an index. */
function writeSparseCheckpoint(dir: string): void {
  const c = CONFIG;
  const E = c.hidden_size;
  const D = c.head_dim;
  const bf16 = (...shape: number[]): FakeTensor => ({ dtype: 'BF16', shape });
  const shards: Record<string, FakeTensor>[] = Array.from({ length: 16 }, () => ({}));
  const shardOf = (layer: number) => Math.floor((layer * 16) / c.num_hidden_layers);
  shards[0]!['model.embed_tokens.weight'] = bf16(c.vocab_size, E);
  for (let i = 0; i < c.num_hidden_layers; i++) {
    const s = shards[shardOf(i)]!;
    const p = `model.layers.${i}.`;
    s[`${p}input_layernorm.weight`] = bf16(E);
    s[`${p}post_attention_layernorm.weight`] = bf16(E);
    s[`${p}self_attn.q_proj.weight`] = bf16(c.num_attention_heads * D, E);
    s[`${p}self_attn.k_proj.weight`] = bf16(c.num_key_value_heads * D, E);
    s[`${p}self_attn.v_proj.weight`] = bf16(c.num_key_value_heads * D, E);
    s[`${p}self_attn.o_proj.weight`] = bf16(E, c.num_attention_heads * D);
    s[`${p}self_attn.q_norm.weight`] = bf16(D);
    s[`${p}self_attn.k_norm.weight`] = bf16(D);
    s[`${p}mlp.gate.weight`] = bf16(c.num_experts, E);
    for (let x = 0; x < c.num_experts; x++) {
      s[`${p}mlp.experts.${x}.gate_proj.weight`] = bf16(c.moe_intermediate_size, E);
      s[`${p}mlp.experts.${x}.up_proj.weight`] = bf16(c.moe_intermediate_size, E);
      s[`${p}mlp.experts.${x}.down_proj.weight`] = bf16(E, c.moe_intermediate_size);
    }
  }
  shards[15]!['model.norm.weight'] = bf16(E);
  shards[15]!['lm_head.weight'] = bf16(c.vocab_size, E);
  const weightMap: Record<string, string> = {};
  shards.forEach((tensors, i) => {
    const name = `model-${String(i + 1).padStart(5, '0')}-of-00016.safetensors`;
    writeSafetensors(join(dir, name), tensors, { sparse: true });
    for (const t of Object.keys(tensors)) weightMap[t] = name;
  });
  writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map: weightMap }));
  writeFileSync(join(dir, 'config.json'), JSON.stringify(CONFIG));
}

describe('a Qwen3-30B-A3B-shaped checkpoint (sparse files, real headers)', () => {
  const tmp = tempDir('berth-moe-');
  const model = join(tmp.dir, 'Qwen3-30B-A3B-ft');
  beforeAll(() => writeSparseCheckpoint(model));
  afterAll(() => tmp.cleanup());

  it('inspect reports the exact total and active parameters, experts and context', async () => {
    const { total, active } = expectedCounts();
    expect(total).toBe(30_532_122_624); // the published "30.5B total"
    expect(active).toBe(3_353_032_704); // and "3.3B activated"
    const [c] = (await inspectPath(model, { env: { HOME: '/nonexistent-home' } })).checkpoints;
    expect(c?.errors).toEqual([]);
    expect(c?.parameters).toBe(total);
    expect(c?.active_parameters).toBe(active);
    expect(c?.dtypes).toEqual(['BF16']);
    expect(c?.shape).toMatchObject({
      num_experts: 128,
      num_experts_used: 8,
      expert_intermediate_size: 768,
      context_length: 40960,
      head_dim: 128,
    });
    expect(c?.gguf_convertible).toEqual({ ok: true });
    expect(c?.vllm_servable).toEqual({ ok: true });
  });

  it('`berth inspect` prints both counts', async () => {
    let out = '';
    const io: CliIo = {
      out: (t) => {
        out += t;
      },
      err: () => {},
      isTty: false,
    };
    expect(await main(['inspect', model], io, { HOME: '/nonexistent-home' })).toBe(0);
    expect(out).toContain('30.53B (3.35B active)');
    expect(out).toContain('128 experts, 8 per token');
  });
});
