import type { DeployServerType, Quantization } from '../../../shared/deploy.js';
import type { Recommendation } from '../../../shared/system.js';

/** The "Measure quality" checkbox: whether it shows, applies, is ticked, and the one-line reason beside it. */
export function measureQualityChoice(
  form: { server_type: DeployServerType; quantization: Quantization; measure_quality: boolean | undefined },
  gguf: boolean,
  adapter: boolean,
  rule: Recommendation['quality'] | undefined,
): { shown: boolean; applies: boolean; checked: boolean | undefined; reason: string } {
  const shown = gguf || form.server_type === 'auto';
  if (!shown) return { shown, applies: false, checked: undefined, reason: 'vLLM makes no GGUF.' };
  if (form.quantization === 'F16' || form.quantization === 'BF16')
    return { shown, applies: false, checked: false, reason: `${form.quantization} is the reference itself.` };
  if (adapter)
    return {
      shown,
      applies: false,
      checked: false,
      reason: 'LoRA adapter: measure the merged model from the checkpoint page.',
    };
  const auto = form.server_type === 'auto' ? ' (not on vLLM: it makes no GGUF)' : '';
  if (form.measure_quality !== undefined)
    return {
      shown,
      applies: true,
      checked: form.measure_quality,
      reason: `${rule ? `Default ${rule.measure ? 'on' : 'off'}: ${rule.reason}` : 'Your choice'}${auto}.`,
    };
  if (!rule)
    return {
      shown,
      applies: true,
      checked: undefined,
      reason: `Decided when deploying: on when the model is small enough to take under a minute here${auto}.`,
    };
  return { shown, applies: true, checked: rule.measure, reason: `${capital(rule.reason)}${auto}.` };
}

const capital = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
