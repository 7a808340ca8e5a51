// What the recommendation's parts share: the model facts it starts from, and how fits compare.
import type { ModelShape } from '../../../shared/checkpoints.js';
import type { DeploymentOption } from '../../../shared/system.js';
import type { TokenizerHint } from './gguf-size.js';

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

export function rankFit(fit: DeploymentOption['fit']): number {
  return fit === 'fits' ? 0 : fit === 'tight' ? 1 : 2;
}
