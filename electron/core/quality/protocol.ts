// What the quality evaluator child (child.ts) reads on stdin and prints on stdout, one JSON object a line.
import type { QualityProgress } from '../../../shared/quality.js';
import type { QualityFigures } from './math.js';
import type { EvalSegment } from './text.js';

export interface EvaluatorJob {
  model: string;
  reference: string;
  segments: EvalSegment[];
  /** Window size in tokens (llama-perplexity's -c). */
  context: number;
  /** Cap on windows (0 or unset: every full window of the text). */
  max_windows?: number;
  threads?: number;
  gpu?: 'auto' | 'cpu';
  /** Bytes the per-chunk next-token distributions of both models may take (bounds memory on big vocabularies). */
  chunk_bytes?: number;
  /** Writes the windows' tokens (after BOS substitution) here as JSON, for tests that recompute the figures. */
  dump_windows?: string;
  /**
   * Tests only: compare the reference at position i with the model at position i + shift, a deliberately broken
   * comparison that every assertion on the report must catch.
   */
  test_shift?: number;
  /** After the comparison, generate this many tokens greedily with the model and report tokens/s (0: skip). */
  speed_tokens?: number;
  /**
   * `logits` (default): raw logits from the libllama node-llama-cpp loaded, falling back to `probabilities`
   * (node-llama-cpp's per-position distributions, ~1,000x slower) when libllama cannot be bound. Tests force either.
   */
  method?: 'logits' | 'probabilities';
  /**
   * Worker threads comparing raw logits (0: on the evaluator's own thread, overlapped with decoding). Default:
   * the free cores (up to 8) when llama.cpp runs on a GPU, else 0.
   */
  compare_threads?: number;
  /** Only the generation speed of `model` (no comparison, `reference` unused): answers with a `speed` line. */
  speed_only?: boolean;
}

export interface EvaluatorFigures extends QualityFigures {
  model_type: string;
  reference_type: string;
  context: number;
  windows: number;
  seconds: number;
  eval_seconds: number;
  gpu: string | false;
  method: 'logits' | 'probabilities';
  compare_threads: number;
  /** Greedy generation speed of the model on this machine (job.speed_tokens). */
  tokens_per_second?: number;
}

export type EvaluatorLine =
  | ({ event: 'progress' } & QualityProgress)
  | { event: 'done'; figures: EvaluatorFigures }
  | { event: 'speed'; tokens_per_second: number | null }
  | { event: 'error'; code: string; message: string; hint?: string };
