import type { ModelShape } from '../../../shared/checkpoints.js';
import type { Fit, Gpu } from '../../../shared/system.js';

export const GIB = 1024 ** 3;
export const MIB = 1024 ** 2;

/** Share of the available memory an option may plan to use and still "fit"; up to 100% is "tight". */
export const HEADROOM = 0.9;

/** Bytes per element of a torch dtype name ("bfloat16", "torch.float16", "float32"...). */
export function dtypeBytes(dtype: string | undefined): number {
  const d = (dtype ?? '').replace(/^torch\./, '').toLowerCase();
  if (d === 'float32' || d === 'fp32' || d === 'f32') return 4;
  if (d.includes('8')) return 1;
  return 2;
}

/** Which engine holds the cache: they size sliding-window layers differently. 'llamacpp' is Berth's built-in one. */
export type KvEngine = 'vllm' | 'ollama' | 'llamacpp';

/**
 * The micro-batch (n_ubatch) llama.cpp's sliding-window cache adds to the window: llama.cpp's default 512
 * (Ollama), 513 in node-llama-cpp (Berth's built-in engine), which adds one for models with a sliding window.
 */
export const SWA_UBATCH: Record<Exclude<KvEngine, 'vllm'>, number> = { ollama: 512, llamacpp: 513 };

/**
 * Cells a sliding-window layer keeps, all sequences together. vLLM: the window per sequence. llama.cpp
 * (llama_kv_cache_iswa, without swa_full): window + one micro-batch per sequence, padded to 256 cells, never
 * more than the full cache.
 */
export function slidingCells(window: number, context: number, parallel: number, engine: KvEngine): number {
  if (engine === 'vllm') return Math.min(context, window) * parallel;
  const full = Math.ceil(context / 256) * 256;
  return Math.min(full, Math.ceil((window + SWA_UBATCH[engine]) / 256) * 256) * parallel;
}

/**
 * KV cache: 2 (K and V) x KV heads x head dim x bytes per element x the cells each layer holds: context x
 * parallel sequences for a full-attention layer, only the window (see slidingCells) for a sliding-window one
 * (Gemma 2's every other layer, Gemma 3's five of six).
 */
export function kvCacheBytes(
  shape: ModelShape,
  context: number,
  bytesPerElement: number,
  parallel = 1,
  engine: KvEngine = 'vllm',
): number {
  const perCell = 2 * shape.num_kv_heads * shape.head_dim * bytesPerElement;
  const sliding = shape.sliding_window ? (shape.sliding_window_layers ?? 0) : 0;
  const slidingBytes = sliding
    ? sliding * perCell * slidingCells(shape.sliding_window ?? context, context, parallel, engine)
    : 0;
  return (shape.num_layers - sliding) * perCell * context * parallel + slidingBytes;
}

/**
 * vLLM's memory besides weights and KV cache, as its start-up profiling counts it: CUDA context, NCCL and
 * CUDA graphs (~1 GiB together), peak activations of a 2048-token prefill chunk (gate/up and
 * q/k/v/o-sized tensors in 16-bit), and the sampler's float32 logits for 256 sequences.
 */
export function vllmOverheadBytes(shape: ModelShape): number {
  const ff = shape.intermediate_size ?? 4 * shape.hidden_size;
  const activations = 2048 * (2 * ff + 4 * shape.hidden_size) * 2;
  const sampler = 256 * shape.vocab_size * 4;
  return GIB + activations + sampler;
}

/**
 * llama.cpp's (Ollama's, the built-in engine's) memory besides weights and KV cache: ~300 MiB of CUDA/Metal
 * context per GPU, plus the compute buffer for one 512-token micro-batch with flash attention (float32
 * logits over the vocabulary and a few hidden-sized activations per token).
 */
export function llamaCppOverheadBytes(shape: ModelShape, gpuCount: number): number {
  const compute = 512 * 4 * (shape.vocab_size + 8 * shape.hidden_size);
  return 300 * MIB * Math.max(1, gpuCount) + compute;
}

/** fits (within the headroom), tight (within what is free), does_not_fit. */
export function fitOf(needed: number, available: number): Fit {
  if (available <= 0 || needed > available) return 'does_not_fit';
  return needed <= available * HEADROOM ? 'fits' : 'tight';
}

/** Free VRAM of a GPU: what it reports free, else total minus used, else total. */
export function freeBytes(gpu: Gpu): number {
  if (gpu.memory_free_bytes !== undefined) return gpu.memory_free_bytes;
  if (gpu.memory_used_bytes !== undefined) return Math.max(0, gpu.memory_total_bytes - gpu.memory_used_bytes);
  return gpu.memory_total_bytes;
}

/** Devices a process can use: MIG-mode parents are replaced by their slices. */
export function usableGpus(gpus: Gpu[]): Gpu[] {
  return gpus.filter((g) => !g.mig_enabled);
}

/** Compute capability as a number (8.9), or undefined. */
export function ccNumber(gpu: Gpu): number | undefined {
  const n = Number(gpu.compute_capability);
  return gpu.compute_capability && Number.isFinite(n) ? n : undefined;
}

/** "15.0 GiB" (or "350 MiB", "12 KiB" for small models) for reasons. */
export function gib(bytes: number): string {
  if (bytes >= GIB) return `${(bytes / GIB).toFixed(1)} GiB`;
  if (bytes >= MIB) return `${Math.round(bytes / MIB)} MiB`;
  return `${Math.max(0, Math.round(bytes / 1024))} KiB`;
}
