import type { ModelShape } from '../../../shared/checkpoints.js';
import type { Quantization } from '../../../shared/deploy.js';

/** The ggml tensor types Berth's GGUF files contain. */
export type GgmlType = 'F32' | 'F16' | 'BF16' | 'Q8_0' | 'Q4_0' | 'Q5_0' | 'Q5_1' | 'Q4_K' | 'Q5_K' | 'Q6_K';

/** Bytes per block and weights per block (ggml-common.h). */
export const GGML_BLOCKS: Record<GgmlType, { bytes: number; weights: number }> = {
  F32: { bytes: 4, weights: 1 },
  F16: { bytes: 2, weights: 1 },
  BF16: { bytes: 2, weights: 1 },
  Q8_0: { bytes: 34, weights: 32 },
  Q4_0: { bytes: 18, weights: 32 },
  Q5_0: { bytes: 22, weights: 32 },
  Q5_1: { bytes: 24, weights: 32 },
  Q4_K: { bytes: 144, weights: 256 },
  Q5_K: { bytes: 176, weights: 256 },
  Q6_K: { bytes: 210, weights: 256 },
};

type Category =
  | 'token_embd'
  | 'output'
  | 'attn_q'
  | 'attn_k'
  | 'attn_v'
  | 'attn_qkv'
  | 'attn_output'
  | 'ffn_gate'
  | 'ffn_up'
  | 'ffn_down'
  | 'pos_embd'
  | 'norm'
  | 'bias'
  | 'router';

/** One tensor as it appears in the GGUF: ne0 is the row length (the input features), rows the rest. */
export interface TensorSpec {
  name: string;
  category: Category;
  ne0: number;
  rows: number;
  layer?: number;
  /** A routed expert tensor (ffn_*_exps: all experts of the layer stacked). */
  experts?: boolean;
}

/**
 * The tensors llama.cpp's converter writes for a model shape, named as in the GGUF. Covers the dense
 * decoder families Berth converts: Llama / Mistral / Qwen2 / Qwen3 / Gemma / Gemma-2 (separate q/k/v, gated
 * MLP), Phi-3 (fused qkv and gate_up), GPT-2 (fused qkv with biases, plain MLP, learned positions), and the
 * newer ones: Gemma 3 (post-norms, q/k norms), OLMo 2 (post-norms only, q/k norms over the whole projection),
 * mixture of experts (Qwen3-MoE, Mixtral, GraniteMoe: a router and stacked ffn_{gate,up,down}_exps).
 */
export function modelTensors(shape: ModelShape): TensorSpec[] {
  const h = shape.hidden_size;
  const hd = shape.head_dim;
  const qDim = shape.num_attention_heads * hd;
  const kvDim = shape.num_kv_heads * hd;
  const ff = shape.intermediate_size ?? 4 * h;
  const type = shape.model_type.toLowerCase();
  const gemmaNorms = type === 'gemma2' || type.startsWith('gemma3');
  const headNorms = type === 'qwen3' || type === 'qwen3_moe' || type.startsWith('gemma3');
  const olmo2 = type === 'olmo2';
  const nExp = shape.num_experts ?? 0;
  const ffExp = shape.expert_intermediate_size ?? ff;
  const fusedQkv = type === 'phi3' || type === 'gpt2';
  const gated = type !== 'gpt2';
  const fusedGateUp = type === 'phi3';
  const qkvBias = type === 'qwen2' || type === 'qwen2_moe' || type === 'gpt2';
  const sharedFf = shape.shared_expert_intermediate_size ?? 0;
  const out: TensorSpec[] = [
    { name: 'token_embd.weight', category: 'token_embd', ne0: h, rows: shape.vocab_size },
  ];
  if (type === 'gpt2')
    out.push({ name: 'position_embd.weight', category: 'pos_embd', ne0: h, rows: shape.context_length });
  for (let i = 0; i < shape.num_layers; i++) {
    const b = `blk.${i}`;
    const t = (name: string, category: Category, ne0: number, rows: number) =>
      out.push({ name: `${b}.${name}`, category, ne0, rows, layer: i });
    if (!olmo2) t('attn_norm.weight', 'norm', h, 1);
    if (fusedQkv) {
      t('attn_qkv.weight', 'attn_qkv', h, qDim + 2 * kvDim);
      if (qkvBias) t('attn_qkv.bias', 'bias', qDim + 2 * kvDim, 1);
    } else {
      t('attn_q.weight', 'attn_q', h, qDim);
      t('attn_k.weight', 'attn_k', h, kvDim);
      t('attn_v.weight', 'attn_v', h, kvDim);
      if (qkvBias) {
        t('attn_q.bias', 'bias', qDim, 1);
        t('attn_k.bias', 'bias', kvDim, 1);
        t('attn_v.bias', 'bias', kvDim, 1);
      }
      if (headNorms) {
        t('attn_q_norm.weight', 'norm', hd, 1);
        t('attn_k_norm.weight', 'norm', hd, 1);
      } else if (olmo2) {
        t('attn_q_norm.weight', 'norm', qDim, 1);
        t('attn_k_norm.weight', 'norm', kvDim, 1);
      }
    }
    t('attn_output.weight', 'attn_output', qDim, h);
    if (type === 'gpt2') t('attn_output.bias', 'bias', h, 1);
    if (gemmaNorms || olmo2) t('post_attention_norm.weight', 'norm', h, 1);
    if (!olmo2) t('ffn_norm.weight', 'norm', h, 1);
    if (nExp > 0) {
      t('ffn_gate_inp.weight', 'router', h, nExp);
      const e = (name: string, category: Category, ne0: number, rows: number) =>
        out.push({ name: `${b}.${name}`, category, ne0, rows, layer: i, experts: true });
      e('ffn_gate_exps.weight', 'ffn_gate', h, nExp * ffExp);
      e('ffn_up_exps.weight', 'ffn_up', h, nExp * ffExp);
      e('ffn_down_exps.weight', 'ffn_down', ffExp, nExp * h);
      if (sharedFf > 0) {
        // a shared expert runs for every token (Qwen2-MoE's has its own sigmoid gate, a vector)
        if (type === 'qwen2_moe') t('ffn_gate_inp_shexp.weight', 'norm', h, 1);
        t('ffn_gate_shexp.weight', 'ffn_gate', h, sharedFf);
        t('ffn_up_shexp.weight', 'ffn_up', h, sharedFf);
        t('ffn_down_shexp.weight', 'ffn_down', sharedFf, h);
      }
    } else if (fusedGateUp) t('ffn_up.weight', 'ffn_up', h, 2 * ff);
    else {
      if (gated) t('ffn_gate.weight', 'ffn_gate', h, ff);
      t('ffn_up.weight', 'ffn_up', h, ff);
    }
    if (nExp === 0) t('ffn_down.weight', 'ffn_down', ff, h);
    if (type === 'gpt2') {
      t('ffn_up.bias', 'bias', ff, 1);
      t('ffn_down.bias', 'bias', h, 1);
    }
    if (gemmaNorms || olmo2) t('post_ffw_norm.weight', 'norm', h, 1);
  }
  out.push({ name: 'output_norm.weight', category: 'norm', ne0: h, rows: 1 });
  if (!shape.tie_word_embeddings)
    out.push({ name: 'output.weight', category: 'output', ne0: h, rows: shape.vocab_size });
  return out;
}

/** Parameters of a model shape (what the tensors hold). */
export function countParameters(shape: ModelShape): number {
  return modelTensors(shape).reduce((sum, t) => sum + t.ne0 * t.rows, 0);
}

/**
 * Parameters one token runs through: for a mixture of experts, `num_experts_used` of the `num_experts`
 * routed experts and everything else; for a dense model, all of them.
 */
export function countActiveParameters(shape: ModelShape): number {
  const n = shape.num_experts ?? 0;
  const used = shape.num_experts_used ?? n;
  return modelTensors(shape).reduce(
    (sum, t) => sum + (t.experts && n > 0 ? (t.ne0 * t.rows * used) / n : t.ne0 * t.rows),
    0,
  );
}

// llama.cpp: use_more_bits() in src/llama-quant.cpp (C integer division).
function wantsMoreBits(i: number, n: number): boolean {
  const eighth = Math.trunc(n / 8);
  return i < eighth || i >= Math.trunc((7 * n) / 8) || (i - eighth) % 3 === 2;
}

/**
 * The type llama.cpp gives a tensor for an output type, following llama_tensor_get_type() in
 * src/llama-quant.cpp: 1-D tensors and norms stay F32; the output tensor (or the token embedding when tied)
 * becomes Q6_K (Q8_0 if its rows do not split into 256-blocks); Q4_K_M / Q5_K_M give attn_v and ffn_down of
 * the first and last eighth (and every third layer between) Q6_K, fused qkv one step up, and 70B-class models'
 * other attn_v Q5_K; 8-expert models' attn_v and attn_k Q8_0; the expert router stays F32; a row length not
 * divisible by 256 falls back to Q5_0 / Q5_1 / Q8_0, then F16.
 * F16 / BF16 are the converter's own output: 2-D tensors in that type, 1-D ones F32.
 */
export function ggufTensorType(t: TensorSpec, quantization: Quantization, shape: ModelShape): GgmlType {
  // the expert router stays F32, as the converter writes it and llama.cpp's quantizer leaves it
  if (t.category === 'router') return 'F32';
  const oneD = t.rows === 1;
  const source: GgmlType = oneD ? 'F32' : quantization === 'BF16' ? 'BF16' : 'F16';
  if (quantization === 'F16' || quantization === 'BF16') return source;
  if (oneD || t.category === 'norm' || t.category === 'bias' || t.category === 'pos_embd') return source;
  const base: GgmlType = quantization === 'Q8_0' ? 'Q8_0' : quantization === 'Q4_K_M' ? 'Q4_K' : 'Q5_K';
  const km = quantization === 'Q4_K_M' || quantization === 'Q5_K_M';
  const n = shape.num_layers;
  let type: GgmlType = base;
  if (t.category === 'output' || (shape.tie_word_embeddings && t.category === 'token_embd')) {
    if (t.ne0 % GGML_BLOCKS[base].weights !== 0) type = 'Q8_0';
    else if (base !== 'Q8_0') type = 'Q6_K';
  } else if (t.category === 'attn_v') {
    if (km && wantsMoreBits(t.layer ?? 0, n)) type = 'Q6_K';
    // LLM_TYPE_70B (80 layers): "8 heads share the same attn_v weights", so more bits cost little
    if (n === 80 && type === 'Q4_K') type = 'Q5_K';
    // an 8-expert model (Mixtral) gets attn_v and attn_k in Q8_0: they are small next to the experts
    if (shape.num_experts === 8) type = 'Q8_0';
  } else if (t.category === 'attn_k') {
    if (shape.num_experts === 8) type = 'Q8_0';
  } else if (t.category === 'ffn_down') {
    if (km && wantsMoreBits(t.layer ?? 0, n)) type = 'Q6_K';
  } else if (t.category === 'attn_qkv') {
    if (quantization === 'Q4_K_M') type = 'Q5_K';
    else if (quantization === 'Q5_K_M') type = 'Q6_K';
  }
  return fallback(type, t.ne0);
}

// tensor_type_fallback(): rows that do not split into the type's blocks.
function fallback(type: GgmlType, ne0: number): GgmlType {
  if (ne0 % GGML_BLOCKS[type].weights === 0) return type;
  const next: Partial<Record<GgmlType, GgmlType>> = { Q4_K: 'Q5_0', Q5_K: 'Q5_1', Q6_K: 'Q8_0' };
  const t = next[type] ?? type;
  return ne0 % GGML_BLOCKS[t].weights === 0 ? t : 'F16';
}

/** Bytes of one tensor's data in a type. */
export function tensorBytes(t: TensorSpec, type: GgmlType): number {
  const block = GGML_BLOCKS[type];
  return t.rows * Math.ceil(t.ne0 / block.weights) * block.bytes;
}

const ALIGN = 32;

export interface GgufSizeEstimate {
  total_bytes: number;
  tensor_bytes: number;
  metadata_bytes: number;
  /** Bytes per type, e.g. { Q4_K: ..., Q6_K: ..., F32: ... }. */
  by_type: Partial<Record<GgmlType, number>>;
  /** Per layer (blk.N) tensor bytes, and what is outside the layers (embeddings, output, final norm). */
  layer_bytes: number[];
  non_layer_bytes: number;
}

/** Tokenizer facts that change the metadata size. */
export interface TokenizerHint {
  kind?: 'sentencepiece' | 'bpe' | 'wordpiece' | 'unigram' | 'unknown' | 'none';
  merges?: number;
}

/**
 * The size of the GGUF file llama.cpp produces for a shape and type: tensor data (per-tensor types as above,
 * each aligned to 32 bytes) plus the header, tensor infos and metadata, of which the vocabulary is nearly all
 * (per token: 8-byte length + ~6.6 bytes of text + 4-byte type, + 4-byte score for SentencePiece; BPE adds
 * its merges, ~18 bytes each). Calibrated on a real Ollama-made GGUF (32000 tokens: 724 KB of metadata).
 */
export function predictGgufSize(
  shape: ModelShape,
  quantization: Quantization,
  tokenizer: TokenizerHint = {},
): GgufSizeEstimate {
  const tensors = modelTensors(shape);
  const by_type: Partial<Record<GgmlType, number>> = {};
  const layer_bytes = new Array<number>(shape.num_layers).fill(0);
  let tensor_bytes = 0;
  let non_layer_bytes = 0;
  let infos = 0;
  for (const t of tensors) {
    const type = ggufTensorType(t, quantization, shape);
    const bytes = tensorBytes(t, type);
    const padded = Math.ceil(bytes / ALIGN) * ALIGN;
    by_type[type] = (by_type[type] ?? 0) + bytes;
    tensor_bytes += padded;
    if (t.layer === undefined) non_layer_bytes += padded;
    else layer_bytes[t.layer] = (layer_bytes[t.layer] ?? 0) + padded;
    infos += 8 + t.name.length + 4 + 8 * (t.rows === 1 ? 1 : 2) + 4 + 8;
  }
  const metadata_bytes = 24 + infos + 2048 + vocabBytes(shape, tokenizer) + ALIGN;
  return {
    total_bytes: tensor_bytes + metadata_bytes,
    tensor_bytes,
    metadata_bytes,
    by_type,
    layer_bytes,
    non_layer_bytes,
  };
}

function vocabBytes(shape: ModelShape, tokenizer: TokenizerHint): number {
  const type = shape.model_type.toLowerCase();
  const kind =
    tokenizer.kind && tokenizer.kind !== 'unknown' && tokenizer.kind !== 'none'
      ? tokenizer.kind
      : type.startsWith('gemma') ||
          type === 'mistral' ||
          type === 'phi3' ||
          (type === 'llama' && shape.vocab_size < 64_000)
        ? 'sentencepiece'
        : 'bpe';
  const perToken = 8 + 6.6 + 4 + (kind === 'bpe' ? 0 : 4);
  const merges = kind === 'bpe' ? (tokenizer.merges ?? shape.vocab_size) * 18 : 0;
  return Math.round(shape.vocab_size * perToken + merges);
}
