import { describe, expect, it } from 'vitest';
import {
  argmax,
  compareLogits,
  klDivergence,
  LOG_FLOOR,
  logProbs,
  logSoftmax,
  QualityAccumulator,
  quantile,
  scoredPerWindow,
  windows,
} from './math.js';

/** A seeded pseudo-random stream (mulberry32), so the cases are fixed but not hand-picked. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const randomLogits = (n: number, r: () => number, scale = 3) =>
  Array.from({ length: n }, () => (r() - 0.5) * scale);

describe('log-probabilities', () => {
  it('logSoftmax sums to one and keeps differences of logits', () => {
    const r = rng(1);
    const logits = randomLogits(50, r);
    const lp = logSoftmax(logits);
    expect([...lp].reduce((s, v) => s + Math.exp(v), 0)).toBeCloseTo(1, 12);
    expect((lp[3] as number) - (lp[7] as number)).toBeCloseTo(
      (logits[3] as number) - (logits[7] as number),
      12,
    );
    // stable for huge logits
    expect(logSoftmax([1000, 1000])[0]).toBeCloseTo(Math.log(0.5), 12);
  });

  it('logProbs renormalises float32 probabilities and floors zeros', () => {
    const lp = logProbs(
      [
        [0, 0.5],
        [2, 0.25],
        [1, 0.25],
      ],
      4,
    );
    expect(lp[0]).toBeCloseTo(Math.log(0.5), 12);
    expect(lp[1]).toBeCloseTo(Math.log(0.25), 12);
    expect(lp[3]).toBe(LOG_FLOOR);
    const scaled = logProbs(
      [
        [0, 1],
        [1, 1],
      ],
      2,
    );
    expect(scaled[0]).toBeCloseTo(Math.log(0.5), 12);
    expect(() => logProbs([[5, 1]], 4)).toThrow(/outside the vocabulary/);
  });
});

describe('KL divergence', () => {
  it('is 0 for identical distributions and positive otherwise', () => {
    const r = rng(2);
    const p = logSoftmax(randomLogits(100, r));
    expect(klDivergence(p, p)).toBe(0);
    const q = logSoftmax(randomLogits(100, r));
    expect(klDivergence(p, q)).toBeGreaterThan(0);
    expect(klDivergence(p, q)).not.toBeCloseTo(klDivergence(q, p), 6); // not symmetric
  });

  it('matches the closed form for two-point distributions', () => {
    const a = 0.9;
    const b = 0.6;
    const expected = a * Math.log(a / b) + (1 - a) * Math.log((1 - a) / (1 - b));
    expect(klDivergence([Math.log(a), Math.log(1 - a)], [Math.log(b), Math.log(1 - b)])).toBeCloseTo(
      expected,
      14,
    );
  });

  it('refuses distributions over different vocabularies', () => {
    expect(() => klDivergence([0], [0, 0])).toThrow(/different vocabularies/);
  });
});

describe('accumulator', () => {
  it('reports zero KL, full agreement and a ratio of one for a model against itself', () => {
    const r = rng(3);
    const acc = new QualityAccumulator();
    for (let i = 0; i < 20; i++) {
      const p = logSoftmax(randomLogits(64, r));
      acc.add(p, p, Math.floor(r() * 64));
    }
    const f = acc.figures();
    expect(f).toMatchObject({ tokens: 20, kl_mean: 0, kl_p99: 0, top1_agreement: 1, ppl_ratio: 1 });
  });

  it('computes perplexity from the actual next tokens and counts top-1 matches', () => {
    const acc = new QualityAccumulator();
    const ref = [Math.log(0.5), Math.log(0.3), Math.log(0.2)];
    const same = [Math.log(0.4), Math.log(0.35), Math.log(0.25)];
    const other = [Math.log(0.2), Math.log(0.7), Math.log(0.1)];
    acc.add(ref, same, 0);
    acc.add(ref, other, 1);
    const f = acc.figures();
    expect(f.top1_agreement).toBe(0.5);
    expect(f.ppl_reference).toBeCloseTo(Math.exp(-(Math.log(0.5) + Math.log(0.3)) / 2), 12);
    expect(f.ppl_model).toBeCloseTo(Math.exp(-(Math.log(0.4) + Math.log(0.7)) / 2), 12);
    expect(f.kl_mean).toBeCloseTo((klDivergence(ref, same) + klDivergence(ref, other)) / 2, 14);
    expect(f.kl_max).toBe(klDivergence(ref, other));
  });

  it('a comparison shifted by one position is not mistaken for a match', () => {
    const r = rng(4);
    const dists = Array.from({ length: 30 }, () => logSoftmax(randomLogits(32, r, 8)));
    const aligned = new QualityAccumulator();
    const shifted = new QualityAccumulator();
    for (let i = 0; i + 1 < dists.length; i++) {
      aligned.add(dists[i] as Float64Array, dists[i] as Float64Array, 0);
      shifted.add(dists[i] as Float64Array, dists[i + 1] as Float64Array, 0);
    }
    expect(aligned.figures().kl_mean).toBe(0);
    expect(shifted.figures().kl_mean).toBeGreaterThan(0.1);
    expect(shifted.figures().top1_agreement).toBeLessThan(0.5);
  });
});

describe('helpers', () => {
  it('quantile interpolates like numpy', () => {
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantile([5, 1, 3], 0)).toBe(1);
    expect(quantile([5, 1, 3], 1)).toBe(5);
    expect(quantile([0, 10], 0.99)).toBeCloseTo(9.9, 12);
  });
  it('argmax takes the first of ties', () => {
    expect(argmax([1, 3, 3, 2])).toBe(1);
  });
  it('windows are consecutive, context-sized, the tail dropped, the first half unscored', () => {
    const w = windows(1000, 256);
    expect(w).toEqual([
      { start: 0, size: 256, first: 128 },
      { start: 256, size: 256, first: 128 },
      { start: 512, size: 256, first: 128 },
    ]);
    expect(scoredPerWindow(w[0] as (typeof w)[0])).toBe(127);
    expect(windows(1000, 256, 2)).toHaveLength(2);
    expect(windows(100, 256)).toEqual([]);
    expect(() => windows(100, 2)).toThrow(/too small/);
  });
});

describe('compareLogits (the raw-logits reader)', () => {
  const V = 5000;
  const r = rng(42);
  // two rows per model, float32 as llama.cpp hands them back; the model's rows are the reference's plus noise
  const ref = Float32Array.from([...randomLogits(V, r, 20), ...randomLogits(V, r, 20)]);
  const mod = Float32Array.from(ref, (x) => x + (r() - 0.5) * 0.8);

  it('equals the log-softmax definition: KL, top-1, both NLLs', () => {
    for (const row of [0, 1]) {
      const a = logSoftmax(ref.subarray(row * V, (row + 1) * V));
      const b = logSoftmax(mod.subarray(row * V, (row + 1) * V));
      const f = compareLogits(ref, row, mod, row, V, 17);
      expect(f.kl).toBeGreaterThan(1e-3);
      expect(Math.abs(f.kl - klDivergence(a, b))).toBeLessThan(1e-12);
      expect(f.same).toBe(argmax(a) === argmax(b));
      expect(f.nllRef).toBeCloseTo(-(a[17] as number), 12);
      expect(f.nllModel).toBeCloseTo(-(b[17] as number), 12);
    }
  });

  it('a row against itself is exactly 0 with the same top-1; the wrong row is not', () => {
    expect(compareLogits(ref, 1, ref, 1, V, 3)).toMatchObject({ kl: 0, same: true });
    expect(compareLogits(ref, 0, ref, 1, V, 3).kl).toBeGreaterThan(0.1);
  });

  it('through the accumulator gives the same figures as the log-probability path', () => {
    const fast = new QualityAccumulator();
    const slow = new QualityAccumulator();
    for (const row of [0, 1]) {
      fast.addMeasured(compareLogits(ref, row, mod, row, V, 9 + row));
      slow.add(
        logSoftmax(ref.subarray(row * V, (row + 1) * V)),
        logSoftmax(mod.subarray(row * V, (row + 1) * V)),
        9 + row,
      );
    }
    const [f, s] = [fast.figures(), slow.figures()];
    for (const k of ['kl_mean', 'kl_p99', 'top1_agreement', 'ppl_reference', 'ppl_model'] as const) {
      expect(f[k]).toBeCloseTo(s[k], 10);
    }
  });
});
