import { type QualityReport, qualityReading, qualityVerdict } from '../../../shared/quality.js';
import type { Recommendation } from '../../../shared/system.js';

/**
 * Adds what quantization costs to each GGUF option of a recommendation: the measured report for its type when
 * one is kept for this checkpoint (and how it compares with the other measured types), else a line saying the
 * choice of type rests on memory alone.
 */
export function withQualityNotes(rec: Recommendation, reports: QualityReport[]): Recommendation {
  const latest = new Map<string, QualityReport>();
  for (const r of [...reports].sort((a, b) => a.created_at.localeCompare(b.created_at)))
    latest.set(r.model_type, r);
  return {
    ...rec,
    options: rec.options.map((o) => {
      if (!o.quantization || o.quantization === 'F16' || o.quantization === 'BF16') return o;
      const mine = latest.get(o.quantization);
      if (!mine) {
        return {
          ...o,
          reasons: [
            ...o.reasons,
            `What ${o.quantization} costs in quality is not measured yet (an estimate from the type alone): \`berth compare-quants\` measures it.`,
          ],
        };
      }
      const others = [...latest.values()]
        .filter((r) => r.model_type !== o.quantization && r.kl_mean > 0)
        .map((r) => {
          const x = mine.kl_mean / r.kl_mean;
          const how = x < 1 ? `${(1 / x).toFixed(1)}x less KL than` : `${x.toFixed(1)}x the KL of`;
          return `${how} ${r.model_type}`;
        });
      return {
        ...o,
        reasons: [
          ...o.reasons,
          `Measured: ${qualityVerdict(mine)}: ${qualityReading(mine)}${others.length ? `; ${others.join(', ')}` : ''}.`,
        ],
      };
    }),
  };
}
