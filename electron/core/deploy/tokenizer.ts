import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Checkpoint } from '../../../shared/checkpoints.js';

const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer.model'];

/**
 * Where to take the tokenizer from when a checkpoint has none beside its weights. The HF Trainer saves the
 * tokenizer into checkpoint-N/ only when it was given one (processing_class); the run's root (the folder above,
 * where trainer.save_model and tokenizer.save_pretrained write) usually has it. Undefined when the checkpoint
 * has its own tokenizer, or when no fallback exists (the converter then reports TOKENIZER_MISSING).
 */
export function tokenizerFallback(
  checkpoint: Pick<Checkpoint, 'kind' | 'path' | 'tokenizer'>,
): string | undefined {
  if (checkpoint.kind !== 'hf-model' && checkpoint.kind !== 'bin-only') return undefined;
  if (TOKENIZER_FILES.some((f) => existsSync(join(checkpoint.path, f)))) return undefined;
  const parent = dirname(checkpoint.path);
  return TOKENIZER_FILES.some((f) => existsSync(join(parent, f))) ? parent : undefined;
}
