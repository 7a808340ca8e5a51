import { z } from 'zod';
import { BerthErrorSchema } from './errors.js';
import { QualityReportSchema } from './quality.js';

/** Backends a deploy may target. `auto` takes the recommendation; `llamacpp` is Berth's built-in engine. */
export const ServerTypeSchema = z.enum(['vllm', 'ollama', 'llamacpp']);
export type ServerType = z.infer<typeof ServerTypeSchema>;
export const DeployServerTypeSchema = z.enum(['vllm', 'ollama', 'llamacpp', 'auto']);
export type DeployServerType = z.infer<typeof DeployServerTypeSchema>;

/** GGUF output types Berth produces (F16 straight from the converter, the rest by llama.cpp's quantizer). */
export const QuantizationSchema = z.enum(['F16', 'BF16', 'Q8_0', 'Q5_K_M', 'Q4_K_M']);
export type Quantization = z.infer<typeof QuantizationSchema>;

/** A served model name: what clients pass as `model`. Safe in URLs, file names and Ollama tags. */
export const ModelNameSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]*$/,
    'letters, digits, ".", "_" and "-", starting with a letter or digit',
  );

export const DeployConfigSchema = z
  .object({
    /** vLLM: fraction of each GPU's memory vLLM may use. */
    gpu_memory_utilization: z.number().gt(0).max(1).optional(),
    /** Ollama / llama.cpp: context window (num_ctx). For vLLM it is the default max_model_len. */
    context_length: z.number().int().min(128).max(1_048_576).optional(),
    quantization: QuantizationSchema.optional(),
    port: z.number().int().min(1024).max(65535).optional(),
    max_model_len: z.number().int().min(128).max(1_048_576).optional(),
    tensor_parallel_size: z.number().int().min(1).max(64).optional(),
    dtype: z.enum(['auto', 'float16', 'bfloat16', 'float32']).optional(),
    api_key: z.string().min(1).max(256).optional(),
    auto_restart: z.boolean().optional(),
    /**
     * LoRA adapters on the GGUF backends: `adapter` serves a llama.cpp LoRA GGUF over the base's GGUF (switching
     * checkpoints costs one small file), `merged` folds it into the base before quantizing (better quality below
     * Q8_0). Default: merged below Q8_0, else adapter.
     */
    adapter_mode: z.enum(['adapter', 'merged']).optional(),
  })
  .strict();
export type DeployConfig = z.infer<typeof DeployConfigSchema>;

/**
 * `POST /api/training/deploy`, as in the user's design document:
 * `{ job_id, server_type, checkpoint_path?, name, config }`. `model_path` (a plain model folder) is an addition
 * for scripts that never registered a run; exactly one of `job_id` and `model_path` is required.
 */
export const DeployRequestSchema = z
  .object({
    job_id: z.uuid().optional(),
    model_path: z.string().min(1).max(4096).optional(),
    server_type: DeployServerTypeSchema,
    checkpoint_path: z.string().min(1).max(1024).optional(),
    /**
     * vLLM and LoRA adapters: more checkpoints of the same run served by the same server, each as its own
     * --lora-modules entry named `<name>-<checkpoint folder>` (the first, checkpoint_path, answers to `name`).
     */
    checkpoint_paths: z.array(z.string().min(1).max(1024)).max(16).optional(),
    /** A LoRA adapter's base model folder, when base_model_name_or_path does not lead to it on this machine. */
    base_model_path: z.string().min(1).max(4096).optional(),
    name: ModelNameSchema.optional(),
    config: DeployConfigSchema.default({}),
    /**
     * Ollama / the built-in engine with a quantized GGUF (not F16/BF16): measure the GGUF against its F16 (KL
     * divergence, top-1 agreement, perplexity) as its own stage before the server starts. Absent: on when the
     * estimate says it finishes in under a minute here (`qualityDefault` in shared/quality.ts). vLLM never
     * makes a GGUF, so it does not apply there (the response's `quality` says so).
     */
    measure_quality: z.boolean().optional(),
  })
  .strict()
  .refine((r) => (r.job_id === undefined) !== (r.model_path === undefined), {
    message: 'give exactly one of job_id and model_path',
    path: ['job_id'],
  });
export type DeployRequest = z.input<typeof DeployRequestSchema>;
export type ParsedDeployRequest = z.output<typeof DeployRequestSchema>;

/** The successful answer. The first seven fields are the design document's and keep its meanings. */
export const DeployResponseSchema = z.object({
  success: z.literal(true),
  server_id: z.uuid(),
  status: z.literal('running'),
  base_url: z.string(),
  port: z.number().int(),
  model_id: z.uuid(),
  model_name: z.string(),
  // additions
  deployment_id: z.uuid(),
  openai_base_url: z.string(),
  server_type: ServerTypeSchema,
  quantization: QuantizationSchema.optional(),
  gguf_path: z.string().optional(),
  /** A LoRA adapter on a GGUF backend: how it is served, the adapter GGUF when served as one, and why. */
  adapter_mode: z.enum(['adapter', 'merged']).optional(),
  adapter_gguf_path: z.string().optional(),
  adapter_mode_reason: z.string().optional(),
  /** The deploy-time quality measurement: whether it ran, why, and its report or its error. */
  quality: z
    .object({
      /** measured: a report; cached: the kept report of this file; failed: the error; skipped: the reason. */
      state: z.enum(['measured', 'cached', 'failed', 'skipped']),
      reason: z.string(),
      report: QualityReportSchema.optional(),
      error: BerthErrorSchema.optional(),
    })
    .optional(),
});
export type DeployResponse = z.infer<typeof DeployResponseSchema>;

/**
 * The stages a deployment walks through, in order; each backend skips the ones it does not need. `quality`
 * measures the quantized GGUF against its F16 (Ollama / built-in engine, when asked or on by default); it never
 * fails the deployment: the server starts after it whatever its outcome.
 */
export const DeployStageSchema = z.enum([
  'inspect',
  'convert',
  'quantize',
  'quality',
  'import',
  'start',
  'healthy',
]);
export type DeployStage = z.infer<typeof DeployStageSchema>;

export const DeploymentStatusSchema = z.enum(['pending', 'running', 'succeeded', 'failed', 'cancelled']);
export type DeploymentStatus = z.infer<typeof DeploymentStatusSchema>;
