import { z } from 'zod';
import { BerthErrorSchema } from './errors.js';

/**
 * A model's shape from its config.json, with the defaults transformers would fill in. The memory model
 * (hardware), the converter's checks and the UI all read these fields.
 */
export const ModelShapeSchema = z.object({
  architecture: z.string(),
  model_type: z.string(),
  num_layers: z.number().int(),
  hidden_size: z.number().int(),
  intermediate_size: z.number().int().optional(),
  num_attention_heads: z.number().int(),
  num_kv_heads: z.number().int(),
  head_dim: z.number().int(),
  vocab_size: z.number().int(),
  /** max_position_embeddings (or the GGUF's context_length). */
  context_length: z.number().int(),
  rope_scaling: z.record(z.string(), z.unknown()).nullable().optional(),
  tie_word_embeddings: z.boolean(),
  /** config.json's torch_dtype / dtype, e.g. "bfloat16". */
  torch_dtype: z.string().optional(),
});
export type ModelShape = z.infer<typeof ModelShapeSchema>;

/**
 * What Berth knows about one checkpoint folder (or GGUF file). The checkpoint-intake issue fills in the
 * description; the fields here are the ones the rest of Berth relies on.
 */
export const CheckpointSchema = z.object({
  /** Path relative to the job's root ('.' for the root itself). */
  relative_path: z.string(),
  path: z.string(),
  kind: z.enum(['hf-model', 'lora-adapter', 'gguf', 'bin-only']),
  architecture: z.string().optional(),
  model_type: z.string().optional(),
  shape: ModelShapeSchema.optional(),
  step: z.number().int().optional(),
  size_bytes: z.number().optional(),
  parameters: z.number().optional(),
  dtypes: z.array(z.string()).default([]),
  vllm_servable: z.object({ ok: z.boolean(), reason: z.string().optional() }).optional(),
  gguf_convertible: z.object({ ok: z.boolean(), reason: z.string().optional() }).optional(),
  errors: z.array(BerthErrorSchema).default([]),
  warnings: z.array(z.string()).default([]),
});
export type Checkpoint = z.infer<typeof CheckpointSchema>;

/** A registered training output (or a single model folder) with a stable id. */
export const JobSchema = z.object({
  id: z.uuid(),
  path: z.string(),
  name: z.string(),
  registered_at: z.string(),
  checkpoints: z.array(CheckpointSchema),
  best_checkpoint: z.string().optional(),
});
export type Job = z.infer<typeof JobSchema>;

export const RegisterJobRequestSchema = z.object({ path: z.string().min(1).max(4096) }).strict();

/** One entry of the folder browser the browser UI uses (it has no native dialog). */
export const BrowseEntrySchema = z.object({ name: z.string(), path: z.string(), is_model: z.boolean() });
export const BrowseResultSchema = z.object({
  path: z.string(),
  parent: z.string().optional(),
  entries: z.array(BrowseEntrySchema),
  roots: z.array(z.string()),
});
export type BrowseResult = z.infer<typeof BrowseResultSchema>;
