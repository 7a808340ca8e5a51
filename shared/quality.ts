import { z } from 'zod';

/** Which evaluation text a report used. */
export const EvalTextInfoSchema = z.object({
  /** `default`: the text that ships with Berth (resources/eval); `file`: the user's .txt or .jsonl. */
  source: z.enum(['default', 'file']),
  name: z.string(),
  path: z.string().optional(),
  /** `text` (plain), `jsonl-text` (records' `text`), `jsonl-messages` (records' `messages` through the chat template). */
  format: z.enum(['text', 'jsonl-text', 'jsonl-messages']),
  records: z.number().int().nonnegative(),
  sha256: z.string(),
});
export type EvalTextInfo = z.infer<typeof EvalTextInfoSchema>;

/**
 * A measured quality report: a GGUF's next-token distributions against its full-precision reference over an
 * evaluation text, as llama-perplexity --kl-divergence measures them (KL natural log, per scored token).
 */
export const QualityReportSchema = z.object({
  model_path: z.string(),
  reference_path: z.string(),
  /** llama.cpp's file type names, e.g. Q4_K_M and F16 (from general.file_type). */
  model_type: z.string(),
  reference_type: z.string(),
  text: EvalTextInfoSchema,
  context: z.number().int().positive(),
  windows: z.number().int().positive(),
  /** Scored tokens (the second half of each window). */
  tokens: z.number().int().positive(),
  kl_mean: z.number().nonnegative(),
  kl_median: z.number().nonnegative(),
  kl_p99: z.number().nonnegative(),
  kl_max: z.number().nonnegative(),
  /** Fraction (0..1) of scored positions where both models' most likely next token is the same. */
  top1_agreement: z.number().min(0).max(1),
  ppl_reference: z.number().positive(),
  ppl_model: z.number().positive(),
  ppl_ratio: z.number().positive(),
  seconds: z.number().nonnegative(),
  /** Of `seconds`, the time spent evaluating windows (both models). */
  eval_seconds: z.number().nonnegative(),
  gpu: z.union([z.string(), z.literal(false)]),
  /**
   * How the distributions were read: `logits` straight from llama.cpp's output buffer (the fast path), or
   * `probabilities` through node-llama-cpp's API (the fallback where libllama cannot be bound; same figures).
   */
  method: z.enum(['logits', 'probabilities']).optional(),
  /** Worker threads that compared the logits (0: the evaluator's own thread, overlapped with decoding). */
  compare_threads: z.number().int().nonnegative().optional(),
  /** Greedy generation speed of the model here, when it was measured (compare-quants). */
  tokens_per_second: z.number().positive().optional(),
  created_at: z.string(),
});
export type QualityReport = z.infer<typeof QualityReportSchema>;

/** Progress of a quality measurement: scored tokens done of total. */
export const QualityProgressSchema = z.object({
  stage: z.enum(['loading', 'tokenizing', 'evaluating', 'speed']),
  done: z.number(),
  total: z.number(),
  elapsed_s: z.number().optional(),
  eta_s: z.number().optional(),
});
export type QualityProgress = z.infer<typeof QualityProgressSchema>;

/** The short verdict shown on a server card, e.g. "Q4_K_M: top-1 agreement 94 %, KL 0.031, PPL +2.1 %". */
export function qualityVerdict(
  r: Pick<QualityReport, 'model_type' | 'top1_agreement' | 'kl_mean' | 'ppl_ratio'>,
) {
  const ppl = (r.ppl_ratio - 1) * 100;
  const sign = ppl >= 0 ? '+' : '−';
  return `${r.model_type}: top-1 agreement ${(r.top1_agreement * 100).toFixed(0)} %, KL ${r.kl_mean > 0 && r.kl_mean < 0.001 ? r.kl_mean.toExponential(1) : r.kl_mean.toFixed(3)}, PPL ${sign}${Math.abs(ppl).toFixed(1)} %`;
}

/** A plain reading of the figures (thresholds from llama.cpp's published KL tables for common quantizations). */
export function qualityReading(r: Pick<QualityReport, 'kl_mean' | 'top1_agreement'>): string {
  if (r.kl_mean < 0.01) return 'practically the same as the full-precision model';
  if (r.kl_mean < 0.05) return 'close to the full-precision model; small differences in word choice';
  if (r.kl_mean < 0.15)
    return 'noticeably different from the full-precision model; check outputs you care about';
  return 'far from the full-precision model; prefer a larger quantization';
}

/** One row of compare-quants: one quantization of the checkpoint. */
export const CompareRowSchema = z.object({
  quantization: z.string(),
  gguf_path: z.string(),
  bytes: z.number(),
  /** The F16 row is the reference the others are measured against. */
  reference: z.boolean(),
  report: QualityReportSchema.optional(),
  tokens_per_second: z.number().positive().optional(),
  fit: z.enum(['fits', 'tight', 'does_not_fit']).optional(),
  fit_detail: z.string().optional(),
});
export type CompareRow = z.infer<typeof CompareRowSchema>;

export const CompareResultSchema = z.object({
  model_path: z.string(),
  rows: z.array(CompareRowSchema),
  text: EvalTextInfoSchema,
});
export type CompareResult = z.infer<typeof CompareResultSchema>;

/** Progress of a quality or compare run: which quantization, and whether converting or measuring it. */
export const QualityJobProgressSchema = z.object({
  quantization: z.string(),
  phase: z.enum(['convert', 'measure']),
  done: z.number(),
  total: z.number(),
  stage: z.string(),
  eta_s: z.number().optional(),
});
export type QualityJobProgress = z.infer<typeof QualityJobProgressSchema>;

/** POST /api/quality: a report for a GGUF (against its F16) or for a model folder's quantization. */
export const QualityRequestSchema = z
  .object({
    job_id: z.string().optional(),
    model_path: z.string().optional(),
    checkpoint_path: z.string().optional(),
    gguf_path: z.string().optional(),
    against: z.string().optional(),
    text_path: z.string().optional(),
    quantization: z.enum(['F16', 'BF16', 'Q8_0', 'Q5_K_M', 'Q4_K_M']).optional(),
    context: z.number().int().min(16).max(32768).optional(),
    windows: z.number().int().min(1).optional(),
    force: z.boolean().optional(),
  })
  .strict();
export type QualityRequest = z.infer<typeof QualityRequestSchema>;

/** POST /api/quality/compare: one checkpoint in several types. */
export const CompareRequestSchema = z
  .object({
    job_id: z.string().optional(),
    model_path: z.string().optional(),
    checkpoint_path: z.string().optional(),
    types: z
      .array(z.enum(['F16', 'BF16', 'Q8_0', 'Q5_K_M', 'Q4_K_M']))
      .min(1)
      .max(5)
      .optional(),
    text_path: z.string().optional(),
    context: z.number().int().min(16).max(32768).optional(),
    windows: z.number().int().min(1).optional(),
  })
  .strict();
export type CompareRequest = z.infer<typeof CompareRequestSchema>;
