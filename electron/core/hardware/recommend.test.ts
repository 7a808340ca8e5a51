import { describe, expect, it } from 'vitest';
import type { BackendStatus } from '../../../shared/system.js';
import { countParameters, ggufTensorType, modelTensors, predictGgufSize } from './gguf-size.js';
import { appleUnifiedGpu } from './gpus.js';
import { GIB, kvCacheBytes } from './memory.js';
import { recommendDeployment } from './recommend.js';
import { ALL_BACKENDS, MACHINES, MODELS, machine } from './test-machines.js';

const pick = (machineName: string, model: string, backends?: BackendStatus[], context?: number) => {
  const r = recommendDeployment(
    machine(MACHINES[machineName]!, backends),
    { shape: MODELS[model]! },
    {
      ...(context ? { context_length: context } : {}),
    },
  );
  const best = r.options.find((o) => o.recommended);
  if (!best) throw new Error('no recommendation');
  return { r, best };
};

describe('memory model', () => {
  it('parameter counts match the published ones', () => {
    // Llama-3.1-8B: 8.03 B; Qwen2.5-7B: 7.62 B; Mistral-7B: 7.25 B; Phi-3-mini: 3.82 B; Gemma-2-9B: 9.24 B; 70B: 70.6 B
    expect(countParameters(MODELS['Llama-3.1-8B']!)).toBe(8_030_261_248);
    expect(countParameters(MODELS['Qwen2.5-7B']!) / 1e9).toBeCloseTo(7.62, 2);
    expect(countParameters(MODELS['Mistral-7B-v0.3']!) / 1e9).toBeCloseTo(7.25, 2);
    expect(countParameters(MODELS['Phi-3-mini-4k']!) / 1e9).toBeCloseTo(3.82, 2);
    expect(countParameters(MODELS['Gemma-2-9B']!) / 1e9).toBeCloseTo(9.24, 2);
    expect(countParameters(MODELS['Llama-3.1-70B']!) / 1e9).toBeCloseTo(70.55, 2);
  });

  it('KV cache = 2 x layers x kv heads x head dim x context x bytes x sequences', () => {
    // Llama-3.1-8B, 8192 tokens, f16: 2 x 32 x 8 x 128 x 8192 x 2 = 1 073 741 824 = 1 GiB
    expect(kvCacheBytes(MODELS['Llama-3.1-8B']!, 8192, 2)).toBe(GIB);
    // 4 sequences: 4 GiB
    expect(kvCacheBytes(MODELS['Llama-3.1-8B']!, 8192, 2, 4)).toBe(4 * GIB);
    // Phi-3-mini has no GQA: 2 x 32 x 32 x 96 x 4096 x 2 = 1.5 GiB
    expect(kvCacheBytes(MODELS['Phi-3-mini-4k']!, 4096, 2)).toBe(1.5 * GIB);
  });

  it("llama.cpp's per-tensor rules: Q4_K_M gives 16 of Llama-3.1-8B's 32 attn_v and ffn_down Q6_K", () => {
    const shape = MODELS['Llama-3.1-8B']!;
    const types = (name: string) =>
      modelTensors(shape)
        .filter((t) => t.name === name || t.name.endsWith(`.${name}`))
        .map((t) => ggufTensorType(t, 'Q4_K_M', shape));
    // use_more_bits: layer < 32/8 (0-3), >= 7*32/8 (28-31), or (layer - 4) % 3 == 2 (6, 9, ..., 27): 4 + 4 + 8
    expect(types('attn_v.weight').filter((t) => t === 'Q6_K')).toHaveLength(16);
    expect(types('ffn_down.weight').filter((t) => t === 'Q6_K')).toHaveLength(16);
    expect(types('attn_q.weight').every((t) => t === 'Q4_K')).toBe(true);
    expect(types('attn_norm.weight').every((t) => t === 'F32')).toBe(true);
    expect(types('output.weight')).toEqual(['Q6_K']);
    expect(types('token_embd.weight')).toEqual(['Q4_K']);
    // 70B (80 layers): the other attn_v get Q5_K instead of Q4_K
    const big = MODELS['Llama-3.1-70B']!;
    const v70 = modelTensors(big)
      .filter((t) => t.name.endsWith('attn_v.weight'))
      .map((t) => ggufTensorType(t, 'Q4_K_M', big));
    expect(new Set(v70)).toEqual(new Set(['Q6_K', 'Q5_K']));
    // tied embeddings (Gemma-2): the token embedding is the output, so Q6_K
    const gemma = MODELS['Gemma-2-9B']!;
    const embd = modelTensors(gemma).find((t) => t.name === 'token_embd.weight')!;
    expect(ggufTensorType(embd, 'Q4_K_M', gemma)).toBe('Q6_K');
    // Phi-3's fused qkv goes one step up
    const phi = MODELS['Phi-3-mini-4k']!;
    const qkv = modelTensors(phi).find((t) => t.name === 'blk.0.attn_qkv.weight')!;
    expect(ggufTensorType(qkv, 'Q4_K_M', phi)).toBe('Q5_K');
    expect(ggufTensorType(qkv, 'Q5_K_M', phi)).toBe('Q6_K');
  });

  it('rows not divisible by 256 fall back as llama.cpp does', () => {
    const shape = {
      ...MODELS['Llama-3.1-8B']!,
      hidden_size: 320,
      intermediate_size: 864,
      num_attention_heads: 5,
      num_kv_heads: 5,
      head_dim: 64,
    };
    const byName = (n: string) =>
      ggufTensorType(modelTensors(shape).find((t) => t.name === n)!, 'Q4_K_M', shape);
    expect(byName('blk.1.attn_q.weight')).toBe('Q5_0'); // Q4_K -> Q5_0 (320 % 256 != 0, 320 % 32 == 0)
    expect(byName('blk.0.attn_v.weight')).toBe('Q8_0'); // Q6_K -> Q8_0
    expect(byName('output.weight')).toBe('Q8_0'); // output: Q8_0 when the row does not split into 256-blocks
  });

  it('predicted sizes of Llama-3.1-8B GGUFs match the published files', () => {
    // Sizes the Hugging Face Hub lists for bartowski/Meta-Llama-3.1-8B-Instruct-GGUF (GB = 1e9 bytes)
    const published = { F16: 16.07e9, Q8_0: 8.54e9, Q5_K_M: 5.73e9, Q4_K_M: 4.92e9 } as const;
    for (const [q, bytes] of Object.entries(published)) {
      const predicted = predictGgufSize(MODELS['Llama-3.1-8B']!, q as keyof typeof published, {
        kind: 'bpe',
        merges: 280_147,
      });
      expect(Math.abs(predicted.total_bytes - bytes) / bytes, q).toBeLessThan(0.005);
    }
  });
});

// Every expected choice below is worked out by hand from the numbers in the comment: weights (params x bytes,
// or the GGUF tensor data), KV cache (1 GiB per 8192 tokens for the Llama/Mistral shapes), overhead, against
// free VRAM. "fits" = within 90% of what is available. Context 8192 (or the model's, when smaller).
describe('recommendation: real GPUs x real models', () => {
  it.each([
    // RTX 4080 SUPER, 16376 MiB, 15.0 GiB free.
    // Llama-3.1-8B bf16 for vLLM: 14.96 weights + 1.0 KV + 1.3 overhead = 17.3 GiB > 0.9 x 16 GiB = 14.4: no.
    // GGUF F16: 14.96 + 1.0 + 0.6 = 16.6 > 15.0: no. Q8_0: 7.95 + 1.0 + 0.6 = 9.55 <= 0.9 x 15.0 = 13.5: fits.
    ['RTX 4080 SUPER', 'Llama-3.1-8B', 'ollama', 'gpu', 'Q8_0', 'fits'],
    // Phi-3-mini bf16: 7.12 + 1.5 KV (4096 tokens, 32 KV heads) + 1.14 = 9.8 GiB <= 0.9 x 14.4 = 12.95: vLLM fits
    ['RTX 4080 SUPER', 'Phi-3-mini-4k', 'vllm', 'gpu', 'bfloat16', 'fits'],
    // Gemma-2-9B: Q8_0 9.15 + 2.63 KV (42 layers x 8 x 256) + 0.84 = 12.6 <= 13.5: fits
    ['RTX 4080 SUPER', 'Gemma-2-9B', 'ollama', 'gpu', 'Q8_0', 'fits'],
    // 70B Q4_K_M: 39.6 GiB of weights: only 24 of 80 layers (24 x 0.49 + 24 x 0.03 KV + 0.66 = 13.0 GiB) fit
    ['RTX 4080 SUPER', 'Llama-3.1-70B', 'ollama', 'partial', 'Q4_K_M', 'tight'],
    // H100 80 GB, 79.2 GiB free; vLLM at utilization 0.9 of 79.6 GiB = 71.7 GiB:
    // Llama-3.1-8B 14.96 + 1.0 + 1.3 = 17.3 GiB: fits (room for the full 131072 context: 16 GiB of KV)
    ['H100', 'Llama-3.1-8B', 'vllm', 'gpu', 'bfloat16', 'fits'],
    ['H100', 'Qwen2.5-7B', 'vllm', 'gpu', 'bfloat16', 'fits'],
    ['H100', 'Gemma-2-9B', 'vllm', 'gpu', 'bfloat16', 'fits'],
    // 70B bf16 = 141 GB: not on one H100. GGUF Q8_0 69.8 + 2.5 + 0.66 = 73.0 > 0.9 x 79.2 = 71.3: only tight;
    // Q5_K_M 46.5 + 2.5 + 0.66 = 49.7: fits
    ['H100', 'Llama-3.1-70B', 'ollama', 'gpu', 'Q5_K_M', 'fits'],
    // A100 cut into four 19.5 GiB MIG slices: vLLM gets one slice, 0.9 x 19.5 = 17.55 GiB.
    // Llama-3.1-8B 14.96 + 1.0 + 1.3 = 17.25 <= 17.55 but > 0.9 x 17.55: tight
    ['A100 (4 MIG slices)', 'Llama-3.1-8B', 'vllm', 'gpu', 'bfloat16', 'tight'],
    // Mistral-7B 13.50 + 1.0 + 1.2 = 15.7 <= 0.9 x 17.55 = 15.8: fits
    ['A100 (4 MIG slices)', 'Mistral-7B-v0.3', 'vllm', 'gpu', 'bfloat16', 'fits'],
    // Gemma-2-9B 17.2 + 2.63 + 1.4 = 21.3 > 17.55: no vLLM; Q8_0 9.15 + 2.63 + 0.84 = 12.6 <= 0.9 x 19.5: fits
    ['A100 (4 MIG slices)', 'Gemma-2-9B', 'ollama', 'gpu', 'Q8_0', 'fits'],
    // RTX 3060 12 GB, 11.5 GiB free: Llama-3.1-8B Q8_0 9.55 <= 0.9 x 11.5 = 10.4: fits
    ['RTX 3060', 'Llama-3.1-8B', 'ollama', 'gpu', 'Q8_0', 'fits'],
    // Gemma-2-9B: Q8_0 12.6 > 11.5; Q5_K_M 6.19 + 2.63 + 0.84 = 9.65 <= 10.4: fits
    ['RTX 3060', 'Gemma-2-9B', 'ollama', 'gpu', 'Q5_K_M', 'fits'],
    // Phi-3-mini for vLLM: 9.76 <= 0.9 x 12 GiB = 10.8 but > 0.9 x 10.8: tight (still the pick: vLLM is installed)
    ['RTX 3060', 'Phi-3-mini-4k', 'vllm', 'gpu', 'bfloat16', 'tight'],
    // Tesla T4 (compute capability 7.5: no bfloat16, vLLM serves float16), 13.6 GiB free
    ['T4', 'Phi-3-mini-4k', 'vllm', 'gpu', 'bfloat16', 'fits'],
    ['T4', 'Qwen2.5-7B', 'ollama', 'gpu', 'Q8_0', 'fits'],
    // Two RTX 2070 (7.6 GiB free each): Llama-3.1-8B Q8_0 7.95 + 1.0 + 0.89 (context on 2 GPUs) = 9.8
    // <= 0.9 x 15.2: fits split over both; F16 16.9 > 15.2
    ['2x RTX 2070', 'Llama-3.1-8B', 'ollama', 'gpu', 'Q8_0', 'fits'],
    // Phi-3-mini for vLLM: 7.12 + 1.5 + 2 x 1.14 = 10.9 > one GPU's 0.9 x 8 GiB = 7.2, <= two: tensor parallel 2
    ['2x RTX 2070', 'Phi-3-mini-4k', 'vllm', 'gpu', 'bfloat16', 'fits'],
    // GTX 1660 Ti (6 GB, compute capability unknown from driver 418): Llama-3.1-8B Q4_K_M 4.58 + 1.0 + 0.6 = 6.2
    // > 5.77 free: partial offload
    ['GTX 1660 Ti', 'Llama-3.1-8B', 'ollama', 'partial', 'Q4_K_M', 'tight'],
    // Mistral-7B Q4_K_M 4.07 + 1.0 + 0.42 = 5.49 <= 5.77 but > 0.9 x 5.77 = 5.19: tight
    ['GTX 1660 Ti', 'Mistral-7B-v0.3', 'ollama', 'gpu', 'Q4_K_M', 'tight'],
    // RX 6700 XT (AMD: no vLLM), 10.5 GiB free: Llama-3.1-8B Q8_0 9.55 > 0.9 x 10.5 = 9.47 (tight);
    // Q5_K_M 5.33 + 1.0 + 0.6 = 6.9: fits
    ['RX 6700 XT', 'Llama-3.1-8B', 'ollama', 'gpu', 'Q5_K_M', 'fits'],
    ['RX 6700 XT', 'Phi-3-mini-4k', 'ollama', 'gpu', 'F16', 'fits'],
    // Four MI100 (32 GiB each, 128 GiB together): 70B Q8_0 69.8 + 2.5 + 1.5 = 73.9 <= 0.9 x 127.9: fits split
    ['4x MI100', 'Llama-3.1-70B', 'ollama', 'gpu', 'Q8_0', 'fits'],
    ['4x MI100', 'Gemma-2-9B', 'ollama', 'gpu', 'F16', 'fits'],
    // No GPU: CPU with Q4_K_M. 70B: 39.6 + 2.5 + 0.66 = 42.8 GiB <= 0.9 x 60 GiB free RAM: fits
    ['no GPU', 'Llama-3.1-8B', 'ollama', 'cpu', 'Q4_K_M', 'fits'],
    ['no GPU', 'Llama-3.1-70B', 'ollama', 'cpu', 'Q4_K_M', 'fits'],
  ] as const)('%s + %s -> %s %s %s (%s)', (gpu, model, backend, placement, type, fit) => {
    const { best, r } = pick(gpu, model);
    expect(best.backend).toBe(backend);
    expect(best.placement).toBe(placement);
    expect(best.quantization ?? best.dtype).toBe(type);
    expect(best.fit).toBe(fit);
    // the numbers add up and every option explains itself
    expect(best.memory.total_bytes).toBeCloseTo(
      best.memory.weights_bytes + best.memory.kv_cache_bytes + best.memory.overhead_bytes,
      0,
    );
    for (const o of r.options) expect(o.reasons.length).toBeGreaterThan(0);
    expect(r.options.map((o) => o.backend).sort()).toEqual(['llamacpp', 'ollama', 'vllm']);
  });

  it('vLLM settings: utilization under the free VRAM, max_model_len that fits, tensor parallel, float16 on Turing', () => {
    // H100 under load: 59.8 of 79.6 GiB free -> utilization floor((59.8 - 0.25) / 79.6, 2) = 0.74
    expect(pick('H100 under load', 'Llama-3.1-8B').best.config.gpu_memory_utilization).toBe(0.74);
    // A100 MIG slice: 17.55 - 14.96 - 1.29 = 1.3 GiB for KV at 128 KiB per token -> 10496 tokens (multiple of 256)
    expect(pick('A100 (4 MIG slices)', 'Llama-3.1-8B').best.config.max_model_len).toBe(10496);
    expect(pick('2x RTX 2070', 'Phi-3-mini-4k').best.config).toMatchObject({
      tensor_parallel_size: 2,
      dtype: 'float16',
    });
    expect(pick('T4', 'Phi-3-mini-4k').best.config.dtype).toBe('float16');
    expect(pick('H100', 'Llama-3.1-8B').best.config.max_model_len).toBe(131072);
  });

  it('a backend that is not installed stays listed, with what it would give and how to install it', () => {
    const noVllm = ALL_BACKENDS.map((b) =>
      b.name === 'vllm' ? { name: 'vllm' as const, installed: false } : b,
    );
    const { r, best } = pick('H100', 'Llama-3.1-8B', noVllm);
    expect(best.backend).toBe('ollama');
    const vllm = r.options.find((o) => o.backend === 'vllm')!;
    expect(vllm).toMatchObject({ installed: false, fit: 'fits', recommended: false });
    expect(vllm.install_hint).toContain('pip install vllm');
    expect(best.reasons.join(' ')).toContain('vLLM would fit too');
  });

  it('with only the built-in engine, it is the pick', () => {
    const builtIn = ALL_BACKENDS.map((b) => (b.name === 'llamacpp' ? b : { name: b.name, installed: false }));
    const { best } = pick('RTX 3060', 'Llama-3.1-8B', builtIn);
    expect(best).toMatchObject({ backend: 'llamacpp', placement: 'gpu', quantization: 'Q8_0' });
  });

  it('a long context moves the choice down the ladder', () => {
    // 32768 tokens of Llama-3.1-8B KV = 4 GiB: Q8_0 7.95 + 4 + 0.6 = 12.6 > 0.9 x 15 = 13.5? no, fits;
    // 65536 tokens = 8 GiB: Q8_0 16.6 > 15.0; Q5_K_M 5.33 + 8 + 0.6 = 13.9 > 13.5 (tight); Q4_K_M 4.58 + 8 + 0.6 = 13.2: fits
    expect(pick('RTX 4080 SUPER', 'Llama-3.1-8B', undefined, 32768).best.quantization).toBe('Q8_0');
    expect(pick('RTX 4080 SUPER', 'Llama-3.1-8B', undefined, 65536).best.quantization).toBe('Q4_K_M');
  });

  it('CPU only with too little RAM: nothing fits, and it says so', () => {
    const r = recommendDeployment(machine([], ALL_BACKENDS, 8), { shape: MODELS['Llama-3.1-70B']! });
    expect(r.options.every((o) => o.fit === 'does_not_fit')).toBe(true);
    expect(r.summary).toContain('Nothing fits');
  });

  it('Apple Silicon: unified memory counts as VRAM (75% of RAM)', () => {
    const mac = appleUnifiedGpu(32 * GIB, 28 * GIB, 'Apple M2 Max');
    expect(mac.memory_total_bytes).toBe(24 * GIB);
    const backends = ALL_BACKENDS.map((b) =>
      b.name === 'llamacpp' ? { ...b, gpu_kinds: ['cpu' as const, 'metal' as const] } : b,
    );
    const r = recommendDeployment(machine([mac], backends), { shape: MODELS['Llama-3.1-8B']! });
    expect(r.options.find((o) => o.backend === 'vllm')?.fit).toBe('does_not_fit');
    // Q8_0 9.55 <= 0.9 x 24 = 21.6; F16 16.6 <= 21.6 too: F16 fits
    expect(r.options.find((o) => o.recommended)).toMatchObject({ placement: 'gpu', quantization: 'F16' });
  });
});

describe('LoRA adapters', () => {
  // A rank-64 adapter on every linear layer of Llama-3.1-8B: 64 x (in + out) per module, 167.8 M parameters.
  const shape = MODELS['Llama-3.1-8B']!;
  const adapter = { parameters: 167_772_160, rank: 64 };
  const run = (withAdapter: boolean, context = 4096) =>
    recommendDeployment(
      machine(MACHINES.H100!),
      { shape, ...(withAdapter ? { adapter } : {}) },
      { context_length: context },
    );

  it('counts the base plus the adapter: vLLM its LoRA slot, the GGUF backends the F16 adapter file', () => {
    const bare = run(false);
    const lora = run(true);
    const of = (r: typeof bare, b: string) => r.options.find((o) => o.backend === b)!;
    // vLLM: one slot at --max-lora-rank 64 in bf16 (2 bytes)
    expect(of(lora, 'vllm').memory.weights_bytes - of(bare, 'vllm').memory.weights_bytes).toBe(
      adapter.parameters * 2,
    );
    expect(of(lora, 'vllm').reasons.join(' ')).toContain('--max-lora-rank 64');
    // the built-in engine at F16 serves the adapter as an F16 LoRA GGUF over the base
    expect(of(lora, 'llamacpp').quantization).toBe('F16');
    expect(of(lora, 'llamacpp').memory.weights_bytes - of(bare, 'llamacpp').memory.weights_bytes).toBe(
      adapter.parameters * 2,
    );
    expect(of(lora, 'llamacpp').reasons.join(' ')).toContain('LoRA adapter served over the base');
  });

  it('a rank between vLLM sizes takes the next one up (rank 20 -> slot rank 32)', () => {
    const r = recommendDeployment(
      machine(MACHINES.H100!),
      { shape, adapter: { parameters: 1_000_000, rank: 20 } },
      { context_length: 4096 },
    );
    const bare = run(false);
    const vllm = r.options.find((o) => o.backend === 'vllm')!;
    const base = bare.options.find((o) => o.backend === 'vllm')!;
    expect(vllm.memory.weights_bytes - base.memory.weights_bytes).toBe(Math.ceil((1_000_000 * 32) / 20) * 2);
  });
});
