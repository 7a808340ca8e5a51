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
  /** Mixture of experts: experts per layer, experts used per token, and each expert's intermediate size. */
  num_experts: z.number().int().optional(),
  num_experts_used: z.number().int().optional(),
  expert_intermediate_size: z.number().int().optional(),
  /** A shared (always-on) expert's intermediate size (Qwen2-MoE, GraniteMoeShared). */
  shared_expert_intermediate_size: z.number().int().optional(),
  /** Sliding-window attention: the window, and how many layers use it (the others attend to everything). */
  sliding_window: z.number().int().optional(),
  sliding_window_layers: z.number().int().optional(),
});
export type ModelShape = z.infer<typeof ModelShapeSchema>;

/** A yes/no on what Berth can do with a checkpoint, with the reason (and a code) when no. */
export const VerdictSchema = z.object({
  ok: z.boolean(),
  reason: z.string().optional(),
  /** Why not, as a code (e.g. UNSUPPORTED_ARCHITECTURE, BIN_ONLY). */
  code: z.string().optional(),
});
export type Verdict = z.infer<typeof VerdictSchema>;

/** The tokenizer files of a checkpoint: SentencePiece (tokenizer.model) or BPE (tokenizer.json / merges). */
export const TokenizerInfoSchema = z.object({
  kind: z.enum(['sentencepiece', 'bpe', 'wordpiece', 'unigram', 'unknown', 'none']),
  chat_template: z.boolean(),
  /** Where the template came from: tokenizer_config.json, chat_template.jinja, or the GGUF metadata. */
  chat_template_source: z.string().optional(),
  files: z.array(z.string()).default([]),
});
export type TokenizerInfo = z.infer<typeof TokenizerInfoSchema>;

/** What trainer_state.json says about this checkpoint. */
export const TrainingInfoSchema = z.object({
  global_step: z.number().int().optional(),
  epoch: z.number().optional(),
  /** The last logged training loss at or before this checkpoint's step. */
  train_loss: z.number().optional(),
  /** The last eval loss at or before this checkpoint's step. */
  eval_loss: z.number().optional(),
  /** trainer_state.json's best_model_checkpoint, relative to the run when it lies inside it. */
  best_model_checkpoint: z.string().optional(),
  best_metric: z.number().optional(),
});
export type TrainingInfo = z.infer<typeof TrainingInfoSchema>;

/** A PEFT LoRA adapter (adapter_config.json). */
export const LoraInfoSchema = z.object({
  rank: z.number().int(),
  alpha: z.number(),
  target_modules: z.array(z.string()),
  base_model: z.string(),
  /** The base model's folder on this machine, when Berth found it. */
  base_model_path: z.string().optional(),
  task_type: z.string().optional(),
});
export type LoraInfo = z.infer<typeof LoraInfoSchema>;

/** What a GGUF file's header says. */
export const GgufInfoSchema = z.object({
  version: z.number().int(),
  architecture: z.string(),
  name: z.string().optional(),
  context_length: z.number().int().optional(),
  /** general.file_type as llama.cpp names it (e.g. MOSTLY_F16, MOSTLY_Q4_K_M). */
  file_type: z.string().optional(),
  tensor_count: z.number().int(),
  metadata_count: z.number().int(),
});
export type GgufInfo = z.infer<typeof GgufInfoSchema>;

/**
 * What Berth knows about one checkpoint folder (or GGUF file). The fields the rest of Berth relies on come
 * first; the description (tokenizer, training, lora, gguf) follows.
 */
export const CheckpointSchema = z.object({
  /** Path relative to the job's root ('.' for the root itself). */
  relative_path: z.string(),
  /** Absolute path of the checkpoint folder (or GGUF file). */
  path: z.string(),
  kind: z.enum(['hf-model', 'lora-adapter', 'gguf', 'bin-only']),
  architecture: z.string().optional(),
  model_type: z.string().optional(),
  shape: ModelShapeSchema.optional(),
  step: z.number().int().optional(),
  /** Bytes of the weight files (safetensors shards, .bin files or the GGUF). */
  size_bytes: z.number().optional(),
  /** Exact parameter count from the tensor headers (undefined for .bin-only checkpoints). */
  parameters: z.number().optional(),
  /** Mixture of experts: parameters one token runs through (the used experts, not all of them). */
  active_parameters: z.number().optional(),
  dtypes: z.array(z.string()).default([]),
  vllm_servable: VerdictSchema.optional(),
  gguf_convertible: VerdictSchema.optional(),
  errors: z.array(BerthErrorSchema).default([]),
  warnings: z.array(z.string()).default([]),
  /** Weight files, relative to the checkpoint folder. */
  weight_files: z.array(z.string()).default([]),
  tokenizer: TokenizerInfoSchema.optional(),
  training: TrainingInfoSchema.optional(),
  lora: LoraInfoSchema.optional(),
  gguf: GgufInfoSchema.optional(),
  /** The run's best checkpoint (trainer_state.json's best_model_checkpoint). */
  is_best: z.boolean().default(false),
  /** The final model saved at the run's root (next to the checkpoint-N folders). */
  is_final: z.boolean().default(false),
});
export type Checkpoint = z.infer<typeof CheckpointSchema>;

/** One point of the run's loss curve (trainer_state.json's log_history, thinned to a few hundred points). */
export const LossPointSchema = z.object({
  step: z.number(),
  loss: z.number().optional(),
  eval_loss: z.number().optional(),
});
export type LossPoint = z.infer<typeof LossPointSchema>;

/** A folder (or GGUF file) described: what `berth inspect` prints and what a job holds. */
export const InspectionSchema = z.object({
  path: z.string(),
  name: z.string(),
  kind: z.enum(['run', 'model', 'adapter', 'gguf']),
  checkpoints: z.array(CheckpointSchema),
  /** relative_path of the best checkpoint, when trainer_state.json names one. */
  best_checkpoint: z.string().optional(),
  loss_history: z.array(LossPointSchema).default([]),
  inspected_ms: z.number().optional(),
});
export type Inspection = z.infer<typeof InspectionSchema>;

/** A registered training output (or a single model folder) with a stable id. */
export const JobSchema = z.object({
  id: z.uuid(),
  path: z.string(),
  name: z.string(),
  registered_at: z.string(),
  checkpoints: z.array(CheckpointSchema),
  best_checkpoint: z.string().optional(),
  kind: InspectionSchema.shape.kind.optional(),
  loss_history: z.array(LossPointSchema).default([]),
  inspected_at: z.string().optional(),
  /** Set when the folder could not be inspected last time (moved, deleted, unreadable). */
  error: BerthErrorSchema.optional(),
});
export type Job = z.infer<typeof JobSchema>;

export const RegisterJobRequestSchema = z.object({ path: z.string().min(1).max(4096) }).strict();

/** One entry of the folder browser the browser UI uses (it has no native dialog). */
export const BrowseEntrySchema = z.object({
  name: z.string(),
  path: z.string(),
  is_model: z.boolean(),
  /** false for a GGUF file (the browser lists folders and .gguf files). */
  is_dir: z.boolean().default(true),
});
export type BrowseEntry = z.infer<typeof BrowseEntrySchema>;
export const BrowseResultSchema = z.object({
  path: z.string(),
  parent: z.string().optional(),
  entries: z.array(BrowseEntrySchema),
  roots: z.array(z.string()),
  /** True when the folder held more entries than were listed. */
  truncated: z.boolean().default(false),
});
export type BrowseResult = z.infer<typeof BrowseResultSchema>;

export const BrowseQuerySchema = z.object({ path: z.string().min(1).max(4096).optional() }).strict();
