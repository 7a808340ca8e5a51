import type { ModelShape } from '../../../shared/checkpoints.js';
import type { Quantization } from '../../../shared/deploy.js';
import type {
  BackendStatus,
  DeploymentOption,
  Gpu,
  Recommendation,
  SystemReport,
} from '../../../shared/system.js';
import { INSTALL_HINTS } from './backends.js';
import { countActiveParameters, countParameters, predictGgufSize, type TokenizerHint } from './gguf-size.js';
import {
  ccNumber,
  dtypeBytes,
  fitOf,
  freeBytes,
  gib,
  HEADROOM,
  type KvEngine,
  kvCacheBytes,
  llamaCppOverheadBytes,
  MIB,
  SWA_UBATCH,
  slidingCells,
  usableGpus,
  vllmOverheadBytes,
} from './memory.js';

/** The model facts the recommendation needs (from a Checkpoint: shape, parameters, dtypes, tokenizer). */
export interface ModelFacts {
  shape: ModelShape;
  parameters?: number;
  /** Mixture of experts: parameters one token runs through (from the checkpoint's tensors). */
  active_parameters?: number;
  dtypes?: string[];
  tokenizer?: TokenizerHint;
  path?: string;
  /** A LoRA adapter over the base the shape and parameters describe: its size and largest rank. */
  adapter?: { parameters: number; rank: number };
}

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

/** The F16 LoRA GGUF served over the base (adapter mode: the default at F16 and Q8_0), else 0 (merged). */
export function ggufAdapterBytes(adapter: ModelFacts['adapter'], q: Quantization): number {
  return adapter && (q === 'F16' || q === 'Q8_0' || q === 'BF16') ? adapter.parameters * 2 : 0;
}

export interface RecommendOptions {
  /** Context to plan for; default min(8192, the model's). */
  context_length?: number;
  /** Sequences served at once (KV cache per sequence). Default 1. */
  parallel?: number;
}

export const DEFAULT_CONTEXT = 8192;
/** GGUF types from best to smallest: the first that fits fully in VRAM wins. */
export const QUALITY_LADDER: Quantization[] = ['F16', 'Q8_0', 'Q5_K_M', 'Q4_K_M'];

const ASSUMPTIONS = [
  `"fits" leaves ${Math.round((1 - HEADROOM) * 100)}% of the available memory free; "tight" uses up to all of it.`,
  'vLLM: weights in the checkpoint dtype (float32 loads as float16); overhead = CUDA context, NCCL and CUDA graphs (1 GiB) + activations of a 2048-token prefill chunk + float32 logits for 256 sequences; it must fit in gpu_memory_utilization x total VRAM, which must not exceed the VRAM free now.',
  "Ollama / built-in engine: weights = the tensor data of the GGUF llama.cpp's quantizer writes (its per-tensor rules); KV cache in f16; overhead = 300 MiB context per GPU + a 512-token compute buffer with flash attention.",
  'KV cache = 2 x layers x KV heads x head dim x context x bytes per element x parallel sequences; a sliding-window layer (Gemma 2 / 3) holds only its window (vLLM) or window + one 512-token batch (513 in the built-in engine), padded to 256 (llama.cpp).',
  'Mixture of experts: every expert is resident (weights = all parameters); only the active parameters run per token.',
];

/**
 * What to deploy a model with on this machine, and why: vLLM when an NVIDIA GPU (compute capability 7.0+)
 * holds weights + KV cache + overhead within gpu_memory_utilization; else Ollama / the built-in engine with
 * the best GGUF type that fits in VRAM; else partial offload; else CPU. Pure: facts in, options out.
 */
export function recommendDeployment(
  system: SystemReport,
  model: ModelFacts,
  options: RecommendOptions = {},
): Recommendation {
  const shape = model.shape;
  const context = Math.min(options.context_length ?? DEFAULT_CONTEXT, shape.context_length);
  const parallel = options.parallel ?? 1;
  const dtype = shape.torch_dtype ?? model.dtypes?.[0] ?? 'float16';
  const parameters = model.parameters ?? countParameters(shape);
  const active = shape.num_experts
    ? (model.active_parameters ??
      Math.round((parameters * countActiveParameters(shape)) / countParameters(shape)))
    : undefined;
  const backend = (name: BackendStatus['name']) => system.backends.find((b) => b.name === name);
  const sizes = Object.fromEntries(
    QUALITY_LADDER.map((q) => [q, predictGgufSize(shape, q, model.tokenizer ?? {}).total_bytes]),
  );

  const vllm = vllmOption(system, model, parameters, dtype, context, parallel, backend('vllm'));
  const gguf = (['ollama', 'llamacpp'] as const).map((name) =>
    ggufOption(system, model, name, context, parallel, backend(name)),
  );
  const all = [vllm, ...gguf];
  const pick =
    (vllm.installed && vllm.fit !== 'does_not_fit' ? vllm : undefined) ??
    pickGguf(gguf, 'gpu') ??
    pickGguf(gguf, 'partial') ??
    pickGguf(gguf, 'cpu');
  if (pick) pick.recommended = true;
  for (const o of all) o.reasons.push(...shapeNotes(shape, parameters, active, context, parallel, o));
  const rank = (o: DeploymentOption) =>
    (o.recommended ? 0 : 10) + (o.fit === 'fits' ? 0 : o.fit === 'tight' ? 1 : 5) + (o.installed ? 0 : 2);
  const sorted = [...all].sort((a, b) => rank(a) - rank(b));
  if (!vllm.installed && vllm.fit !== 'does_not_fit' && pick !== vllm)
    pick?.reasons.push(
      `vLLM would fit too (${vllm.fit}); install it for higher throughput: ${INSTALL_HINTS.vllm}`,
    );

  return {
    model: {
      architecture: shape.architecture,
      parameters,
      ...(active !== undefined ? { active_parameters: active } : {}),
      dtype,
      context_length: shape.context_length,
      ...(model.path ? { path: model.path } : {}),
    },
    context_length: context,
    options: sorted,
    summary: pick ? summaryOf(pick) : 'Nothing fits on this machine: not in VRAM, not in RAM.',
    assumptions: ASSUMPTIONS,
    gguf_sizes: sizes,
  };
}

const billions = (n: number) => `${(n / 1e9).toFixed(2)} B`;

/** Reasons that say which parts of the memory model applied: mixture of experts, sliding-window KV cache. */
function shapeNotes(
  shape: ModelShape,
  parameters: number,
  active: number | undefined,
  context: number,
  parallel: number,
  o: DeploymentOption,
): string[] {
  const notes: string[] = [];
  if (shape.num_experts && active !== undefined) {
    notes.push(
      `Mixture of experts: all ${shape.num_experts} experts of each layer stay in memory (${gib(o.memory.weights_bytes)} of weights for ${billions(parameters)} parameters); a token runs through ${shape.num_experts_used} of them, ${billions(active)} active parameters, so it generates about as fast as a ${billions(active)} dense model.`,
    );
    const tp = o.config.tensor_parallel_size ?? 1;
    if (o.backend === 'vllm' && tp > 1)
      notes.push(
        `tensor_parallel_size ${tp} splits every expert across the ${tp} GPUs; vLLM's --enable-expert-parallel places whole experts on each GPU instead (the same memory in total, less all-reduce traffic).`,
      );
  }
  const sliding = shape.sliding_window ? (shape.sliding_window_layers ?? 0) : 0;
  if (sliding > 0 && shape.sliding_window) {
    const engine: KvEngine = o.backend;
    const cells = slidingCells(shape.sliding_window, context, parallel, engine);
    notes.push(
      `KV cache: ${sliding} of ${shape.num_layers} layers use a ${shape.sliding_window}-token sliding window and hold ${cells} tokens${engine === 'llamacpp' ? ` (the window + one ${SWA_UBATCH[engine]}-token batch, padded to 256, as llama.cpp allocates)` : ''}; the other ${shape.num_layers - sliding} hold the full ${context * parallel}.`,
    );
  }
  return notes;
}

function summaryOf(o: DeploymentOption): string {
  const name = { vllm: 'vLLM', ollama: 'Ollama', llamacpp: 'the built-in engine' }[o.backend];
  const what = o.quantization ? `${o.quantization} GGUF` : (o.dtype ?? '');
  const where =
    o.placement === 'gpu'
      ? `fully on ${o.device}`
      : o.placement === 'partial'
        ? `with ${o.config.gpu_layers} layers on ${o.device} and the rest in RAM`
        : 'on the CPU';
  return `${name}, ${what}, ${where} (${o.fit.replace(/_/g, ' ')}).`;
}

function pickGguf(options: DeploymentOption[], placement: DeploymentOption['placement']) {
  const candidates = options.filter(
    (o) => o.installed && o.placement === placement && o.fit !== 'does_not_fit',
  );
  // Ollama first when it is there (people know it); the built-in engine otherwise.
  return candidates.find((o) => o.fit === 'fits') ?? candidates[0];
}

function vllmOption(
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

function rankFit(fit: DeploymentOption['fit']): number {
  return fit === 'fits' ? 0 : fit === 'tight' ? 1 : 2;
}

/** GPUs a GGUF backend can use: NVIDIA (CUDA or Vulkan), AMD/Intel (Vulkan; Ollama: ROCm), Apple (Metal). */
function ggufGpus(
  system: SystemReport,
  name: 'ollama' | 'llamacpp',
  status: BackendStatus | undefined,
): Gpu[] {
  const kinds = status?.gpu_kinds ?? [];
  return usableGpus(system.gpus).filter((g) => {
    if (name === 'ollama') return g.vendor !== 'other' && g.vendor !== 'intel';
    if (g.vendor === 'nvidia') return kinds.includes('cuda') || kinds.includes('vulkan');
    if (g.vendor === 'apple') return kinds.includes('metal');
    return kinds.includes('vulkan');
  });
}

function ggufOption(
  system: SystemReport,
  model: ModelFacts,
  name: 'ollama' | 'llamacpp',
  context: number,
  parallel: number,
  status: BackendStatus | undefined,
): DeploymentOption {
  const shape = model.shape;
  const installed = Boolean(status?.installed);
  const kv = kvCacheBytes(shape, context, 2, parallel, name);
  const gpus = ggufGpus(system, name, status);
  const sizeOf = (q: Quantization) => predictGgufSize(shape, q, model.tokenizer ?? {});
  const base = {
    backend: name,
    installed,
    recommended: false,
    context_length: context,
    ...(installed ? {} : { install_hint: INSTALL_HINTS[name] }),
  };
  const notInstalled = installed
    ? []
    : [`${name === 'ollama' ? 'Ollama' : 'The built-in engine'} is not installed.`];

  // 1. Fully in VRAM: one GPU, or llama.cpp's layer split over several (best single GPU first).
  const single = [...gpus].sort((a, b) => freeBytes(b) - freeBytes(a))[0];
  const groups: Gpu[][] = single ? [[single]] : [];
  const nonMig = gpus.filter((g) => !g.mig);
  if (nonMig.length > 1) groups.push(nonMig);
  // Quality first: the best type that fits on one GPU or split over all of them wins.
  let best: DeploymentOption | undefined;
  for (const q of QUALITY_LADDER) {
    const adapterBytes = ggufAdapterBytes(model.adapter, q);
    const weights = sizeOf(q).tensor_bytes + adapterBytes;
    for (const group of groups) {
      const available = group.reduce((s, g) => s + freeBytes(g), 0);
      const overhead = llamaCppOverheadBytes(shape, group.length);
      const fit = fitOf(weights + kv + overhead, available);
      if (fit === 'does_not_fit' || (best && rankFit(fit) >= rankFit(best.fit))) continue;
      best = {
        ...base,
        placement: 'gpu',
        quantization: q,
        fit,
        gpus: group.map((g) => g.index),
        device:
          group.length > 1
            ? `${group.length} GPUs (${[...new Set(group.map((g) => g.name))].join(', ')})`
            : (group[0]?.name ?? 'GPU'),
        memory: {
          weights_bytes: weights,
          kv_cache_bytes: kv,
          overhead_bytes: overhead,
          total_bytes: weights + kv + overhead,
          available_bytes: available,
        },
        config: { quantization: q, context_length: context },
        reasons: [
          `${q}: ${gib(weights)} weights + ${gib(kv)} KV cache (${context} tokens) + ${gib(overhead)} overhead = ${gib(weights + kv + overhead)}, against ${gib(available)} free VRAM.`,
          ...(q !== 'F16'
            ? [
                `${QUALITY_LADDER.slice(0, QUALITY_LADDER.indexOf(q)).join(', ')} would not fit with this context.`,
              ]
            : []),
          ...(group.length > 1 ? ['Layers are split across the GPUs.'] : []),
          ...(model.adapter
            ? [
                adapterBytes
                  ? `The weights include the ${gib(adapterBytes)} F16 LoRA adapter served over the base.`
                  : `The LoRA adapter is merged into the ${q} base (nothing extra).`,
              ]
            : []),
          ...notInstalled,
        ],
      };
      if (fit === 'fits') break;
    }
    if (best?.fit === 'fits') break;
  }
  if (best && best.fit === 'fits') return best;

  // 2. Partial offload of Q4_K_M: as many layers as fit on the GPU(s), the rest in RAM.
  const q4 = sizeOf('Q4_K_M');
  const ram = system.memory.free_bytes;
  const ramOverhead = llamaCppOverheadBytes(shape, 0);
  const group = nonMig.length > 1 ? nonMig : single ? [single] : [];
  if (!best && group.length > 0) {
    const available = group.reduce((s, g) => s + freeBytes(g), 0);
    const overhead = llamaCppOverheadBytes(shape, group.length);
    const perLayerKv = kv / shape.num_layers;
    const perLayer = q4.tensor_bytes / shape.num_layers + perLayerKv;
    const layers = Math.min(shape.num_layers - 1, Math.floor((available * HEADROOM - overhead) / perLayer));
    if (layers >= 1) {
      const gpuWeights = q4.layer_bytes.slice(0, layers).reduce((s, b) => s + b, 0);
      const gpuKv = perLayerKv * layers;
      const inRam = q4.tensor_bytes - gpuWeights + (kv - gpuKv);
      const ramFit = fitOf(inRam, ram);
      return {
        ...base,
        placement: 'partial',
        quantization: 'Q4_K_M',
        fit: ramFit === 'does_not_fit' ? 'does_not_fit' : 'tight',
        gpus: group.map((g) => g.index),
        device: group.length > 1 ? `${group.length} GPUs` : (group[0]?.name ?? 'GPU'),
        memory: {
          weights_bytes: gpuWeights,
          kv_cache_bytes: gpuKv,
          overhead_bytes: overhead,
          total_bytes: gpuWeights + gpuKv + overhead,
          available_bytes: available,
          ram_bytes: inRam,
        },
        config: { quantization: 'Q4_K_M', context_length: context, gpu_layers: layers },
        reasons: [
          `Even Q4_K_M (${gib(q4.tensor_bytes)}) + ${gib(kv)} KV cache does not fit in ${gib(available)} free VRAM: ${layers} of ${shape.num_layers} layers go on the GPU, ${gib(inRam)} stays in RAM (${gib(ram)} free).`,
          'Generation is several times slower than fully on the GPU.',
          ...(ramFit === 'does_not_fit' ? ['Not enough free RAM for the rest.'] : []),
          ...notInstalled,
        ],
      };
    }
  }
  if (best) return best;

  // 3. CPU only: Q4_K_M in RAM (memory bandwidth bound, so the smallest good type is the fastest).
  const cpuNeeded = q4.tensor_bytes + kv + ramOverhead;
  return {
    ...base,
    placement: 'cpu',
    quantization: 'Q4_K_M',
    fit: fitOf(cpuNeeded, ram),
    gpus: [],
    device: 'RAM',
    memory: {
      weights_bytes: q4.tensor_bytes,
      kv_cache_bytes: kv,
      overhead_bytes: ramOverhead,
      total_bytes: cpuNeeded,
      available_bytes: ram,
    },
    config: { quantization: 'Q4_K_M', context_length: context, gpu_layers: 0 },
    reasons: [
      gpus.length === 0
        ? system.gpus.length === 0
          ? 'No GPU found: runs on the CPU.'
          : `No GPU this backend can use (${system.gpus.map((g) => g.name).join(', ')}): runs on the CPU.`
        : 'Not even one layer fits in free VRAM: runs on the CPU.',
      `Q4_K_M ${gib(q4.tensor_bytes)} + ${gib(kv)} KV cache + ${gib(ramOverhead)} overhead = ${gib(cpuNeeded)}, against ${gib(ram)} free RAM.`,
      ...notInstalled,
    ],
  };
}
