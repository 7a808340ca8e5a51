import type { ModelShape } from '../../../shared/checkpoints.js';
import type {
  BackendStatus,
  DeploymentOption,
  Recommendation,
  SystemReport,
} from '../../../shared/system.js';
import { INSTALL_HINTS } from './backends.js';
import { countActiveParameters, countParameters, predictGgufSize } from './gguf-size.js';
import { gib, HEADROOM, type KvEngine, SWA_UBATCH, slidingCells } from './memory.js';
import type { ModelFacts } from './recommend-facts.js';
import { ggufOption, QUALITY_LADDER } from './recommend-gguf.js';
import { vllmOption } from './recommend-vllm.js';

export interface RecommendOptions {
  /** Context to plan for; default min(8192, the model's). */
  context_length?: number;
  /** Sequences served at once (KV cache per sequence). Default 1. */
  parallel?: number;
}

export const DEFAULT_CONTEXT = 8192;

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
