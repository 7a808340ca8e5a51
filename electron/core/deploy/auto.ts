import type { Recommendation } from '../../../shared/system.js';
import { BerthError } from '../errors.js';
import type { AutoChoice } from './deploy.js';

/**
 * What `server_type: "auto"` deploys: the option the recommendation marks as recommended, else the best
 * installed option that fits (or is tight). Options that do not fit are never chosen automatically.
 */
export function chooseAuto(recommendation: Recommendation): AutoChoice {
  const usable = recommendation.options.filter((o) => o.installed && o.fit !== 'does_not_fit');
  const pick = usable.find((o) => o.recommended) ?? usable[0];
  if (!pick) {
    const closest = recommendation.options[0];
    throw new BerthError(
      recommendation.options.some((o) => o.installed) ? 'INSUFFICIENT_MEMORY' : 'BACKEND_NOT_INSTALLED',
      `No installed backend can serve this model here: ${recommendation.summary}`,
      closest?.install_hint ?? closest?.reasons[0] ?? 'See the System page for what fits.',
    );
  }
  const c = pick.config;
  return {
    server_type: pick.backend,
    ...(c.quantization ? { quantization: c.quantization } : {}),
    ...(c.context_length ? { context_length: c.context_length } : {}),
    ...(c.gpu_memory_utilization ? { gpu_memory_utilization: c.gpu_memory_utilization } : {}),
    ...(c.max_model_len ? { max_model_len: c.max_model_len } : {}),
    ...(c.tensor_parallel_size ? { tensor_parallel_size: c.tensor_parallel_size } : {}),
    reason: `${pick.fit} on ${pick.device}${pick.reasons[0] ? `: ${pick.reasons[0]}` : ''}`,
  };
}
