// A worker of compare-pool.ts: compares rows of both models' logits (shared memory, written by the evaluator) and
// answers with each row's figures.
import { parentPort } from 'node:worker_threads';
import { compareLogits } from './math.js';

export interface CompareTask {
  ref: SharedArrayBuffer;
  model: SharedArrayBuffer;
  nVocab: number;
  /** Rows [from, to) of the reference, against rows from + shift.. of the model. */
  from: number;
  to: number;
  shift: number;
  /** The token that came next at each reference row (indexed by row). */
  next: Int32Array;
}

export interface CompareAnswer {
  from: number;
  kl: Float64Array;
  same: Uint8Array;
  nllRef: Float64Array;
  nllModel: Float64Array;
}

parentPort?.postMessage('ready');
parentPort?.on('message', (t: CompareTask) => {
  const ref = new Float32Array(t.ref);
  const model = new Float32Array(t.model);
  const n = t.to - t.from;
  const a: CompareAnswer = {
    from: t.from,
    kl: new Float64Array(n),
    same: new Uint8Array(n),
    nllRef: new Float64Array(n),
    nllModel: new Float64Array(n),
  };
  for (let i = 0; i < n; i++) {
    const row = t.from + i;
    const f = compareLogits(ref, row, model, row + t.shift, t.nVocab, t.next[row] as number);
    a.kl[i] = f.kl;
    a.same[i] = f.same ? 1 : 0;
    a.nllRef[i] = f.nllRef;
    a.nllModel[i] = f.nllModel;
  }
  parentPort?.postMessage(a, [
    a.kl.buffer,
    a.same.buffer,
    a.nllRef.buffer,
    a.nllModel.buffer,
  ] as ArrayBuffer[]);
});
