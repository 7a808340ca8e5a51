// The evaluator's two ways of reading both models' next-token distributions over the windows, feeding one
// QualityAccumulator: raw logits from libllama (the default, libllama.ts) or node-llama-cpp's per-position
// probabilities (the fallback where libllama cannot be bound or cannot load a model).
import type { LlamaContextSequence, Token } from 'node-llama-cpp';
import type { ComparePool } from './compare-pool.js';
import type { RawEvaluator } from './libllama.js';
import { compareLogits, logProbs, type QualityAccumulator, type Window } from './math.js';

/** A failure the evaluator reports with its code (and hint) on its error line. */
export class JobError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

/**
 * No sampling options: node-llama-cpp then samples greedily, which leaves the logits as they are, and the
 * probabilities it returns are the softmax over the whole vocabulary (what llama-perplexity uses). A temperature
 * without topK would bring in its default top-k of 40; topK 0 keeps the vocabulary but sorts it twice.
 */
const FULL = {} as const;

export interface Scoring {
  winTokens: Token[][];
  wins: Window[];
  acc: QualityAccumulator;
  shift: number;
  chunkBytes: number;
  /** Worker threads for the comparison (raw logits only); none: this thread. */
  pool?: ComparePool;
  progress: () => void;
}

/**
 * The fast reader: each window decoded once per model through libllama (the prefix and the first chunk of scored
 * positions in one batch, as llama-perplexity decodes a window), the logits of the scored positions copied out of
 * llama.cpp's output buffer and compared here. Pipelined: while this thread compares chunk k, libllama (on koffi's
 * worker thread) already decodes chunk k+1, so a report costs about its two evaluations, or the comparison's
 * arithmetic where that is longer (tiny models with big vocabularies). Two chunks' logits are alive at a time.
 */
export async function scoreWithLogits(ref: RawEvaluator, mod: RawEvaluator, s: Scoring): Promise<void> {
  if (ref.nVocab !== mod.nVocab) throw vocabMismatch(ref.nVocab, mod.nVocab);
  const nVocab = ref.nVocab;
  const chunk = Math.min(ref.rows, mod.rows);
  // every decode of the run: window wi, tokens [start, end), outputs (scored positions) from `from` on
  const jobs: Array<{ wi: number; start: number; from: number; end: number }> = [];
  for (const [wi, w] of s.wins.entries()) {
    const last = w.size - 1; // positions first .. size-2 are scored; the last one has no next token
    for (let start = 0, from = w.first; from < last; start = from) {
      const end = Math.min(last, from + chunk);
      jobs.push({ wi, start, from, end });
      from = end;
    }
  }
  const decode = async (j: (typeof jobs)[number]) => {
    if (j.start === 0) {
      ref.clear();
      mod.clear();
    }
    const input = (s.winTokens[j.wi] as Token[]).slice(j.start, j.end);
    const lr = await ref.decode(input, j.start, j.from - j.start);
    const lm = await mod.decode(input, j.start, j.from - j.start);
    return { lr, lm };
  };
  const yieldToLoop = () => new Promise<void>((r) => setImmediate(r));
  let next = decode(jobs[0] as (typeof jobs)[number]);
  for (const [k, j] of jobs.entries()) {
    const { lr, lm } = await next;
    const following = jobs[k + 1];
    if (following) {
      next = decode(following);
      next.catch(() => undefined); // a failure is thrown where it is awaited, not as an unhandled rejection
    }
    const t = s.winTokens[j.wi] as Token[];
    const rows = j.end - j.from;
    if (s.pool) {
      const after = Int32Array.from({ length: rows }, (_, i) => t[j.from + i + 1] as number);
      for (const f of await s.pool.compare(lr, lm, rows, s.shift, nVocab, after)) s.acc.addMeasured(f);
      s.progress();
      continue;
    }
    for (let i = 0; i + s.shift < rows; i++) {
      s.acc.addMeasured(compareLogits(lr, i, lm, i + s.shift, nVocab, t[j.from + i + 1] as number));
      if (i % 8 === 7) await yieldToLoop(); // lets the next decode's completion hand over to the other model
    }
    s.progress();
  }
}

/** The fallback reader: node-llama-cpp's per-position probabilities (a Map of the whole vocabulary each). */
export async function scoreWithProbabilities(
  refSeq: LlamaContextSequence,
  modSeq: LlamaContextSequence,
  s: Scoring,
): Promise<void> {
  let nVocab = 0;
  let chunk = 0;
  for (const [wi, w] of s.wins.entries()) {
    const t = s.winTokens[wi] as Token[];
    await Promise.all([refSeq.clearHistory(), modSeq.clearHistory()]);
    const prefix = t.slice(0, w.first);
    await Promise.all([refSeq.controlledEvaluate(prefix), modSeq.controlledEvaluate(prefix)]);
    const last = w.size - 1;
    for (let pos = w.first; pos < last; ) {
      const size = chunk || 1; // the first chunk is one position: it tells the vocabulary size
      const end = Math.min(last, pos + size);
      const input = () =>
        t
          .slice(pos, end)
          .map((tok) => [tok, { generateNext: { probabilities: true, options: FULL } }] as [Token, object]);
      const [r, m] = await Promise.all([
        refSeq.controlledEvaluate(input()),
        modSeq.controlledEvaluate(input()),
      ]);
      const lr: Float64Array[] = [];
      const lm: Float64Array[] = [];
      for (let i = 0; i < end - pos; i++) {
        const rp = r[i]?.next?.probabilities;
        const mp = m[i]?.next?.probabilities;
        if (!rp || !mp) throw new JobError('QUALITY_FAILED', 'llama.cpp returned no probabilities');
        if (!nVocab) {
          nVocab = rp.size;
          if (mp.size !== nVocab) throw vocabMismatch(rp.size, mp.size);
          chunk = Math.max(1, Math.min(512, Math.floor(s.chunkBytes / (nVocab * 8 * 2))));
        }
        lr.push(logProbs(rp, nVocab));
        lm.push(logProbs(mp, nVocab));
      }
      for (let i = 0; i + s.shift < lr.length; i++) {
        s.acc.add(lr[i] as Float64Array, lm[i + s.shift] as Float64Array, t[pos + i + 1] as number);
      }
      pos = end;
      s.progress();
    }
  }
}

export const vocabMismatch = (a: number, b: number) =>
  new JobError('VOCAB_MISMATCH', `The vocabularies differ: ${a} tokens in the reference, ${b} in the model`);
