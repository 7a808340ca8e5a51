// The GGUF options of a recommendation (Ollama and the built-in engine): the best type that fits fully in VRAM,
// else partial offload of Q4_K_M, else the CPU.
import type { Quantization } from '../../../shared/deploy.js';
import type { BackendStatus, DeploymentOption, Gpu, SystemReport } from '../../../shared/system.js';
import { INSTALL_HINTS } from './backends.js';
import { predictGgufSize } from './gguf-size.js';
import {
  fitOf,
  freeBytes,
  gib,
  HEADROOM,
  kvCacheBytes,
  llamaCppOverheadBytes,
  usableGpus,
} from './memory.js';
import { type ModelFacts, rankFit } from './recommend-facts.js';

/** GGUF types from best to smallest: the first that fits fully in VRAM wins. */
export const QUALITY_LADDER: Quantization[] = ['F16', 'Q8_0', 'Q5_K_M', 'Q4_K_M'];

/** The F16 LoRA GGUF served over the base (adapter mode: the default at F16 and Q8_0), else 0 (merged). */
export function ggufAdapterBytes(adapter: ModelFacts['adapter'], q: Quantization): number {
  return adapter && (q === 'F16' || q === 'Q8_0' || q === 'BF16') ? adapter.parameters * 2 : 0;
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

export function ggufOption(
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
