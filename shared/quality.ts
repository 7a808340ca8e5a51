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
   * Set when the measurement was capped to this many windows (a short run: the e2e test, a slow machine's
   * BERTH_QUALITY_WINDOWS); absent for a report over the whole text. Kept apart from full reports in the cache.
   */
  max_windows: z.number().int().positive().optional(),
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

/**
 * What a quality measurement costs, for deciding whether the deploy form measures by default. The report's time
 * has two parts: reading each scored position's full next-token distribution back from llama.cpp, for both
 * models (grows with the vocabulary, not the model size), and evaluating every window's tokens twice (grows with
 * the parameters). The constants are measured, not guessed; re-derive them when the evaluator changes.
 */
export const QUALITY_COST = {
  /**
   * Seconds per scored token, per model, per vocabulary entry (the raw-logits reader): bench/results/quality.json
   * measured 1.34 s per 1,000 scored tokens on the tiny fixture (32,000-token vocabulary, almost no model) on the
   * 2-core test machine: 1.336e-3 / (2 x 32,000). The fallback reader (node-llama-cpp's probabilities) is about
   * 20x slower; the estimate assumes the fast path.
   */
  distribution_s: 2.1e-8,
  /**
   * Evaluation throughput (FLOP/s; 2 x parameters per token, per model). CPU: the same benchmark's ~46 M-parameter
   * model took 3.83 s per 1,000 scored tokens, 2.50 s of it beyond the tiny fixture's, for 1,000 x 128/63 window
   * tokens x 2 models x 2 x 46 M FLOPs: about 1.5e11 at 1 thread; 1e11 leaves room for a busy machine. GPU: a
   * conservative guess (not measured here).
   */
  cpu_flops: 1e11,
  gpu_flops: 1e12,
  /** Starting the child and loading both GGUFs. */
  load_s: 3,
  /** The shipped evaluation text (resources/eval/berth-eval.txt; a test keeps this true). */
  default_text_bytes: 15_344,
  /** Measured by default when the estimate is under this. */
  default_limit_s: 60,
} as const;

/** The window the evaluator uses when none is given: 512 tokens, or the model's own context if shorter. */
export const QUALITY_DEFAULT_CONTEXT = 512;

export interface QualityEstimateInput {
  parameters: number;
  vocab_size: number;
  /** The model's training context (max_position_embeddings). */
  context_length: number;
  gpu: boolean;
  /** The window size and window cap the measurement will use (BERTH_QUALITY_CONTEXT / _WINDOWS). */
  context?: number;
  max_windows?: number;
  text_bytes?: number;
}

/**
 * Seconds a quality report of this model over the default text should take here. Tokens in the text: about 4
 * bytes per token for the usual 32k-250k vocabularies, 1.25 for tiny (character-level) ones (the 320-token test
 * tokenizer cuts the default text into 12,544 tokens); windows: the text's tokens in context-sized windows (capped
 * by max_windows), half of each window scored. Checked once: the 320-token test model at context 256 (49 windows)
 * is estimated at 3.1 s and measured 1.3 s with the raw-logits reader (`berth quality <trainer-run> --quantization
 * Q8_0 --context 256`). Not counted: converting the F16 reference when it is not cached yet.
 */
export function estimateQualitySeconds(m: QualityEstimateInput): number {
  const bytesPerToken = m.vocab_size < 1_000 ? 1.25 : 4;
  const tokens = (m.text_bytes ?? QUALITY_COST.default_text_bytes) / bytesPerToken;
  const context = Math.max(16, Math.min(m.context ?? QUALITY_DEFAULT_CONTEXT, m.context_length));
  let windows = Math.max(1, Math.floor(tokens / context));
  if (m.max_windows) windows = Math.min(windows, m.max_windows);
  const evaluated = windows * context;
  const scored = windows * Math.ceil(context / 2);
  const flops = m.gpu ? QUALITY_COST.gpu_flops : QUALITY_COST.cpu_flops;
  return (
    QUALITY_COST.load_s +
    (2 * evaluated * 2 * m.parameters) / flops +
    scored * 2 * m.vocab_size * QUALITY_COST.distribution_s
  );
}

/** The deploy form's default for "Measure quality", with its one-line reason. */
export interface QualityDefault {
  measure: boolean;
  seconds?: number;
  reason: string;
}

export function qualityDefault(m: QualityEstimateInput | undefined): QualityDefault {
  if (!m)
    return {
      measure: false,
      reason: 'model size unknown: measure from the checkpoint page later',
    };
  const seconds = estimateQualitySeconds(m);
  if (seconds < QUALITY_COST.default_limit_s)
    return { measure: true, seconds, reason: `small model: about ${Math.max(1, Math.round(seconds))} s` };
  const about = seconds < 120 ? `${Math.round(seconds)} s` : `${Math.round(seconds / 60)} min`;
  return {
    measure: false,
    seconds,
    reason: `large model: takes ${seconds < 120 ? 'over a minute' : 'minutes'} (about ${about} here); measure from the checkpoint page later`,
  };
}
