// The arithmetic of a quality report, kept free of llama.cpp so it can be checked on its own: log-probabilities
// from what llama.cpp returns, KL divergence of a model's next-token distribution from a reference's, top-1
// agreement, and perplexity. Definitions as llama-perplexity's --kl-divergence: KL(P_ref || P_model) per token,
// natural log, perplexity = exp(mean negative log-likelihood of the actual next token).

/** The smallest log-probability used for a token whose probability underflowed to 0 in float32. */
export const LOG_FLOOR = Math.log(1e-45);

/**
 * Log-probabilities over the whole vocabulary from (token, probability) pairs, renormalised in float64 (the
 * float32 probabilities llama.cpp hands back sum to 1 only within rounding). Tokens missing from `probs` get
 * probability 0, so `probs` must cover the vocabulary for the result to be the model's distribution.
 */
export function logProbs(probs: Iterable<[number, number]>, nVocab: number): Float64Array {
  const out = new Float64Array(nVocab);
  let sum = 0;
  for (const [token, p] of probs) {
    if (token < 0 || token >= nVocab)
      throw new RangeError(`token ${token} outside the vocabulary (${nVocab})`);
    out[token] = p;
    sum += p;
  }
  if (!(sum > 0)) throw new RangeError('a distribution with no mass');
  const logSum = Math.log(sum);
  for (let i = 0; i < nVocab; i++) {
    const p = out[i] as number;
    out[i] = p > 0 ? Math.log(p) - logSum : LOG_FLOOR;
  }
  return out;
}

/** Log-softmax of raw logits (numerically stable). */
export function logSoftmax(logits: ArrayLike<number>): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i] as number);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp((logits[i] as number) - max);
  const lse = max + Math.log(sum);
  const out = new Float64Array(logits.length);
  for (let i = 0; i < logits.length; i++) out[i] = (logits[i] as number) - lse;
  return out;
}

/** KL(P || Q) = sum_i p_i (log p_i - log q_i) for log-probability vectors of one vocabulary; >= 0. */
export function klDivergence(logP: ArrayLike<number>, logQ: ArrayLike<number>): number {
  if (logP.length !== logQ.length) {
    throw new RangeError(`distributions over different vocabularies (${logP.length} and ${logQ.length})`);
  }
  let kl = 0;
  for (let i = 0; i < logP.length; i++) {
    const lp = logP[i] as number;
    if (lp <= LOG_FLOOR) continue; // p = 0 contributes nothing
    kl += Math.exp(lp) * (lp - (logQ[i] as number));
  }
  return Math.max(0, kl); // rounding can leave -1e-17 for identical distributions
}

/** One scored position compared from raw logits: KL(P_ref || P_model), whether the top-1 tokens agree, and both NLLs. */
export interface PositionFigures {
  kl: number;
  same: boolean;
  nllRef: number;
  nllModel: number;
}

/**
 * The figures of one position straight from both models' logits (rows `refRow` and `modelRow` of nVocab floats in
 * `ref` and `model`), in float64, two passes and two exp() per vocabulary entry: with a_i, b_i the logits and
 * lse the log-sum-exp, KL = sum p_i ((a_i - lse_a) - (b_i - lse_b)) = (sum e^(a_i - max_a) (a_i - b_i)) / Z_a
 * - lse_a + lse_b. Identical rows give exactly 0.
 */
export function compareLogits(
  ref: Float32Array,
  refRow: number,
  model: Float32Array,
  modelRow: number,
  nVocab: number,
  next: number,
): PositionFigures {
  const ra = refRow * nVocab;
  const rb = modelRow * nVocab;
  let maxA = -Infinity;
  let maxB = -Infinity;
  let argA = 0;
  let argB = 0;
  for (let i = 0; i < nVocab; i++) {
    const a = ref[ra + i] as number;
    const b = model[rb + i] as number;
    if (a > maxA) {
      maxA = a;
      argA = i;
    }
    if (b > maxB) {
      maxB = b;
      argB = i;
    }
  }
  let za = 0;
  let zb = 0;
  let cross = 0;
  for (let i = 0; i < nVocab; i++) {
    const a = ref[ra + i] as number;
    const b = model[rb + i] as number;
    const ea = Math.exp(a - maxA);
    za += ea;
    zb += Math.exp(b - maxB);
    if (a !== b) cross += ea * (a - b);
  }
  const lseA = maxA + Math.log(za);
  const lseB = maxB + Math.log(zb);
  const kl = cross / za - lseA + lseB;
  return {
    kl: Math.max(0, kl), // rounding can leave -1e-17
    same: argA === argB,
    nllRef: lseA - (ref[ra + next] as number),
    nllModel: lseB - (model[rb + next] as number),
  };
}

/** Index of the largest value (the first one on a tie). */
export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if ((values[i] as number) > (values[best] as number)) best = i;
  return best;
}

/** The q-quantile (0..1) of `values` by linear interpolation between order statistics (numpy's default). */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = Float64Array.from(values).sort();
  const pos = (sorted.length - 1) * Math.min(1, Math.max(0, q));
  const lo = Math.floor(pos);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return (sorted[lo] as number) + ((sorted[hi] as number) - (sorted[lo] as number)) * (pos - lo);
}

/** Figures of one comparison, accumulated token by token. */
export interface QualityFigures {
  tokens: number;
  kl_mean: number;
  kl_median: number;
  kl_p99: number;
  kl_max: number;
  top1_agreement: number;
  ppl_reference: number;
  ppl_model: number;
  ppl_ratio: number;
}

/** Accumulates per-token comparisons of a model against a reference on the same scored positions. */
export class QualityAccumulator {
  readonly #kl: number[] = [];
  #same = 0;
  #nllRef = 0;
  #nllModel = 0;

  /** One scored position: both log-distributions and the token that actually came next. */
  add(logRef: ArrayLike<number>, logModel: ArrayLike<number>, nextToken: number): number {
    const kl = klDivergence(logRef, logModel);
    this.#kl.push(kl);
    if (argmax(logRef) === argmax(logModel)) this.#same++;
    this.#nllRef -= logRef[nextToken] as number;
    this.#nllModel -= logModel[nextToken] as number;
    return kl;
  }

  /** One scored position already compared (compareLogits). */
  addMeasured(f: PositionFigures): number {
    this.#kl.push(f.kl);
    if (f.same) this.#same++;
    this.#nllRef += f.nllRef;
    this.#nllModel += f.nllModel;
    return f.kl;
  }

  get tokens(): number {
    return this.#kl.length;
  }

  figures(): QualityFigures {
    const n = this.#kl.length;
    if (n === 0) throw new RangeError('no tokens were scored');
    const pplRef = Math.exp(this.#nllRef / n);
    const pplModel = Math.exp(this.#nllModel / n);
    return {
      tokens: n,
      kl_mean: this.#kl.reduce((a, b) => a + b, 0) / n,
      kl_median: quantile(this.#kl, 0.5),
      kl_p99: quantile(this.#kl, 0.99),
      kl_max: Math.max(...this.#kl),
      top1_agreement: this.#same / n,
      ppl_reference: pplRef,
      ppl_model: pplModel,
      ppl_ratio: pplModel / pplRef,
    };
  }
}

/** One evaluation window: token positions [start, start + size) of the stream, scored from `first` on. */
export interface Window {
  start: number;
  size: number;
  /** Index inside the window of the first position whose next-token distribution is scored. */
  first: number;
}

/**
 * Windows as llama-perplexity cuts them: consecutive, non-overlapping, `context` tokens each (a shorter tail is
 * dropped), the first half of each window is context only; positions first .. context-2 are scored, each
 * predicting the token after it. `maxWindows` caps the count (0: no cap).
 */
export function windows(nTokens: number, context: number, maxWindows = 0): Window[] {
  if (!Number.isInteger(context) || context < 4) throw new RangeError(`context ${context} is too small`);
  let n = Math.floor(nTokens / context);
  if (maxWindows > 0) n = Math.min(n, maxWindows);
  return Array.from({ length: n }, (_, i) => ({ start: i * context, size: context, first: context >> 1 }));
}

/** Scored positions per window. */
export function scoredPerWindow(w: Window): number {
  return w.size - 1 - w.first;
}
