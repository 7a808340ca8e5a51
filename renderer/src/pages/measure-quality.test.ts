import { describe, expect, it } from 'vitest';
import { measureQualityChoice } from './measure-quality.js';

const rule = { measure: true, seconds: 9, reason: 'small model: about 9 s' };
const form = {
  server_type: 'llamacpp' as const,
  quantization: 'Q4_K_M' as const,
  measure_quality: undefined,
};

describe('the deploy form\'s "Measure quality" checkbox', () => {
  it("follows the core's default and shows its reason until the user sets it", () => {
    expect(measureQualityChoice(form, true, false, rule)).toEqual({
      shown: true,
      applies: true,
      checked: true,
      reason: 'Small model: about 9 s.',
    });
    const large = {
      measure: false,
      reason: 'large model: takes over a minute (about 85 s here); measure from the checkpoint page later',
    };
    expect(measureQualityChoice(form, true, false, large).checked).toBe(false);
    expect(measureQualityChoice({ ...form, measure_quality: true }, true, false, large)).toMatchObject({
      checked: true,
      reason: `Default off: ${large.reason}.`,
    });
  });

  it('before the default is known it sends nothing (the core decides by the same rule)', () => {
    expect(measureQualityChoice(form, true, false, undefined).checked).toBeUndefined();
  });

  it('F16/BF16, LoRA adapters and vLLM: not applicable, with the reason', () => {
    expect(measureQualityChoice({ ...form, quantization: 'F16' }, true, false, rule)).toMatchObject({
      applies: false,
      checked: false,
      reason: 'F16 is the reference itself.',
    });
    expect(measureQualityChoice(form, true, true, rule).applies).toBe(false);
    expect(measureQualityChoice({ ...form, server_type: 'vllm' }, false, false, rule)).toMatchObject({
      shown: false,
      applies: false, // nothing sent
    });
    expect(measureQualityChoice({ ...form, server_type: 'auto' }, false, false, rule).reason).toContain(
      'not on vLLM',
    );
  });
});
