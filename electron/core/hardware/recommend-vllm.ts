// The vLLM option of a recommendation: the HF folder as is on NVIDIA GPUs (compute capability 7.0+), weights +
// KV cache + overhead within gpu_memory_utilization, tensor parallel when one GPU is not enough.
import type { ModelShape } from '../../../shared/checkpoints.js';
import type { BackendStatus, DeploymentOption, SystemReport } from '../../../shared/system.js';
import { INSTALL_HINTS } from './backends.js';
import {
  ccNumber,
  dtypeBytes,
  fitOf,
  freeBytes,
  gib,
  kvCacheBytes,
  MIB,
  usableGpus,
  vllmOverheadBytes,
} from './memory.js';
import { type ModelFacts, rankFit } from './recommend-facts.js';

/** vLLM's --max-lora-rank for an adapter (its accepted sizes), and LoRA slots it preallocates (max_loras). */
const VLLM_LORA_RANKS = [1, 8, 16, 32, 64, 128, 256, 320, 512];
const VLLM_LORA_SLOTS = 1;

/**
 * GPU memory vLLM reserves for LoRA: each slot holds A and B of every adapted module at --max-lora-rank in
 * the model dtype, i.e. the adapter's parameters scaled from its rank to the slot's.
 */
export function vllmLoraBytes(adapter: { parameters: number; rank: number }, bytes: number): number {
  const slotRank = VLLM_LORA_RANKS.find((r) => r >= adapter.rank) ?? adapter.rank;
  return Math.ceil((adapter.parameters * slotRank) / Math.max(1, adapter.rank)) * bytes * VLLM_LORA_SLOTS;
}

export function vllmOption(
  system: SystemReport,
  model: ModelFacts,
  parameters: number,
  dtype: string,
  context: number,
  parallel: number,
  status: BackendStatus | undefined,
): DeploymentOption {
  const shape = model.shape;
  const installed = Boolean(status?.installed);
  const reasons: string[] = [];
  // vLLM's dtype "auto": float32 checkpoints load as float16.
  const bytes = Math.min(2, dtypeBytes(dtype));
  const loraBytes = model.adapter ? vllmLoraBytes(model.adapter, bytes) : 0;
  const weights = parameters * bytes + loraBytes;
  const overhead = vllmOverheadBytes(shape);
  const kv = kvCacheBytes(shape, context, bytes, parallel, 'vllm');
  const base = {
    backend: 'vllm' as const,
    placement: 'gpu' as const,
    dtype,
    installed,
    recommended: false,
    context_length: context,
    ...(installed ? {} : { install_hint: INSTALL_HINTS.vllm }),
  };
  const nvidia = usableGpus(system.gpus).filter((g) => g.vendor === 'nvidia');
  const capable = nvidia.filter((g) => (ccNumber(g) ?? 0) >= 7);
  if (!installed) reasons.push('vLLM is not installed.');
  else if (status?.gpu_ready === false) reasons.push('vLLM is installed, but its torch sees no CUDA GPU.');
  if (capable.length === 0) {
    const why =
      nvidia.length > 0
        ? `vLLM needs compute capability 7.0 or newer; ${nvidia.map((g) => `${g.name} has ${g.compute_capability ?? 'an unknown one'}`).join(', ')}.`
        : system.gpus.some((g) => g.vendor === 'amd')
          ? 'vLLM needs an NVIDIA GPU here (Berth does not set up ROCm builds of vLLM).'
          : 'vLLM needs an NVIDIA GPU; this machine has none.';
    return {
      ...base,
      fit: 'does_not_fit',
      gpus: [],
      device: 'no NVIDIA GPU',
      memory: {
        weights_bytes: weights,
        kv_cache_bytes: kv,
        overhead_bytes: overhead,
        total_bytes: weights + kv + overhead,
        available_bytes: 0,
      },
      config: {},
      reasons: [why, ...reasons],
    };
  }
  // Largest free first; tensor parallel over 1, 2, 4, 8 GPUs that divide the attention heads.
  const ordered = [...capable].sort((a, b) => freeBytes(b) - freeBytes(a));
  const sizes = [1, 2, 4, 8].filter(
    (t) =>
      t <= ordered.length &&
      shape.num_attention_heads % t === 0 &&
      !ordered.slice(0, t).some((g) => g.mig && t > 1),
  );
  let best: DeploymentOption | undefined;
  for (const tp of sizes) {
    const used = ordered.slice(0, tp);
    // vLLM refuses to start when utilization x total exceeds what is free: stay 256 MiB under it.
    const util = Math.min(
      0.9,
      Math.floor(Math.min(...used.map((g) => (freeBytes(g) - 256 * MIB) / g.memory_total_bytes)) * 100) / 100,
    );
    const available = used.reduce((s, g) => s + util * g.memory_total_bytes, 0);
    const needed = weights + kv + overhead * tp;
    const fit = util <= 0.05 ? 'does_not_fit' : fitOf(needed, available);
    const maxLen = longestContext(shape, bytes, parallel, available - weights - overhead * tp);
    const option: DeploymentOption = {
      ...base,
      fit,
      gpus: used.map((g) => g.index),
      device: tp > 1 ? `${tp} x ${used[0]?.name}` : (used[0]?.name ?? 'GPU'),
      memory: {
        weights_bytes: weights,
        kv_cache_bytes: kv,
        overhead_bytes: overhead * tp,
        total_bytes: needed,
        available_bytes: Math.max(0, available),
      },
      config: {
        gpu_memory_utilization: util,
        ...(maxLen >= 256 ? { max_model_len: Math.min(shape.context_length, maxLen) } : {}),
        ...(tp > 1 ? { tensor_parallel_size: tp } : {}),
      },
      reasons: [
        ...reasons,
        ...(loraBytes
          ? [
              `The weights include ${gib(loraBytes)} vLLM reserves for ${VLLM_LORA_SLOTS} LoRA slot at --max-lora-rank ${VLLM_LORA_RANKS.find((r) => r >= (model.adapter?.rank ?? 0)) ?? model.adapter?.rank}.`,
            ]
          : []),
      ],
    };
    const otherUse = used.reduce((s, g) => s + (g.memory_total_bytes - freeBytes(g)), 0);
    option.reasons.unshift(
      `${gib(weights)} of ${dtype} weights + ${gib(kv)} KV cache for ${context} tokens + ${gib(overhead * tp)} overhead = ${gib(needed)}, against ${gib(available)} (gpu_memory_utilization ${util} of ${tp > 1 ? `${tp} GPUs` : used[0]?.name}${otherUse > 512 * MIB ? `; ${gib(otherUse)} already used by other processes` : ''}).`,
    );
    if (
      fit !== 'does_not_fit' &&
      option.config.max_model_len &&
      option.config.max_model_len < shape.context_length
    )
      option.reasons.push(
        `max_model_len ${option.config.max_model_len}: the model's full ${shape.context_length} tokens would not fit (vLLM would refuse to start).`,
      );
    if (fit === 'does_not_fit' && maxLen >= 256)
      option.reasons.push(`Only ${maxLen} tokens of context fit; ask for less context to use vLLM.`);
    if (tp > 1) option.reasons.push(`tensor_parallel_size ${tp}: the weights do not fit on one GPU.`);
    const minCc = Math.min(...used.map((g) => ccNumber(g) ?? 0));
    if (/bfloat16/.test(dtype) && minCc < 8) {
      option.config.dtype = 'float16';
      option.reasons.push(
        `${used[0]?.name} (compute capability ${minCc}) has no bfloat16: serve as float16.`,
      );
    }
    if (!best || rankFit(option.fit) < rankFit(best.fit)) best = option;
    if (option.fit === 'fits') break;
  }
  return best as DeploymentOption;
}

/**
 * The longest context (a multiple of 256) whose vLLM KV cache fits in `room` bytes; past the model's own
 * context it grows by full-attention layers only, so it is found by bisection, not by division.
 */
function longestContext(shape: ModelShape, bytes: number, parallel: number, room: number): number {
  const kv = (n: number) => kvCacheBytes(shape, n, bytes, parallel, 'vllm');
  if (room <= 0 || kv(256) > room) return 0;
  let lo = 1;
  let hi = 2;
  while (kv(hi * 256) <= room && hi < 1 << 24) hi *= 2;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (kv(mid * 256) <= room) lo = mid;
    else hi = mid;
  }
  return lo * 256;
}
