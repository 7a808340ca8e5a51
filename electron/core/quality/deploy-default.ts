// Whether a deploy measures quality when the request leaves it out: on when the estimate (shared/quality.ts,
// estimateQualitySeconds) says the report over the default text finishes in under a minute on this machine.
import type { Checkpoint } from '../../../shared/checkpoints.js';
import { type QualityDefault, qualityDefault } from '../../../shared/quality.js';
import { countParameters } from '../hardware/gguf-size.js';
import { envDefaults } from './env.js';

/** LoRA adapters are deployed without a deploy-time measurement (their reference would be the merged F16). */
export const LORA_QUALITY_REASON =
  'LoRA adapter: not measured at deploy; measure the merged model from the checkpoint page';

/** The default for one checkpoint: its parameters and vocabulary, the GPU (or not), the env's window cap. */
export function deployQualityDefault(
  checkpoint: Pick<Checkpoint, 'shape' | 'parameters'>,
  gpu: boolean,
  env: NodeJS.ProcessEnv,
): QualityDefault {
  // Scripted runs that never want it (the unit test suite sets this: its deploys are about other things).
  if (env.BERTH_QUALITY_ON_DEPLOY === 'off')
    return { measure: false, reason: 'off by default here (BERTH_QUALITY_ON_DEPLOY=off)' };
  const shape = checkpoint.shape;
  if (!shape) return qualityDefault(undefined);
  const d = envDefaults(env);
  return qualityDefault({
    parameters: checkpoint.parameters ?? countParameters(shape),
    vocab_size: shape.vocab_size,
    context_length: shape.context_length,
    gpu,
    ...(d.context ? { context: d.context } : {}),
    ...(d.windows ? { max_windows: d.windows } : {}),
  });
}
