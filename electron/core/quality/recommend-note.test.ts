import { describe, expect, it } from 'vitest';
import type { QualityReport } from '../../../shared/quality.js';
import type { Recommendation } from '../../../shared/system.js';
import { withQualityNotes } from './recommend-note.js';

const report = (type: string, kl: number): QualityReport =>
  ({
    model_type: type,
    kl_mean: kl,
    top1_agreement: 0.9,
    ppl_ratio: 1.02,
    created_at: '2026-01-01',
  }) as QualityReport;
const rec = {
  options: [
    { backend: 'llamacpp', quantization: 'Q4_K_M', reasons: ['fits'] },
    { backend: 'ollama', quantization: 'Q5_K_M', reasons: [] },
    { backend: 'vllm', reasons: [] },
  ],
} as unknown as Recommendation;

describe('recommendation with measured quality', () => {
  it('says the measured figures and compares with the other measured types', () => {
    const out = withQualityNotes(rec, [report('Q4_K_M', 0.03), report('Q5_K_M', 0.015)]);
    expect(out.options[0]?.reasons.at(-1)).toMatch(
      /^Measured: Q4_K_M: top-1 agreement 90 %, KL 0\.030, PPL \+2\.0 %.*2\.0x the KL of Q5_K_M/,
    );
    expect(out.options[1]?.reasons.at(-1)).toMatch(/2\.0x less KL than Q4_K_M/);
    expect(out.options[2]?.reasons).toEqual([]);
  });
  it('says when it is only an estimate', () => {
    const out = withQualityNotes(rec, []);
    expect(out.options[0]?.reasons).toEqual(['fits', expect.stringMatching(/not measured yet/)]);
  });
});
