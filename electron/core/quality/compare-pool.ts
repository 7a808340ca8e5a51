// Worker threads for the per-position comparison, for when llama.cpp runs on a GPU and the CPU cores are free:
// there the arithmetic over the vocabulary (two exp() per entry, ~3 ms a position at 128k tokens on one core)
// is what a report waits for. Each chunk's logits are copied once into shared memory and the rows split
// between the workers; the figures come back in row order. On the CPU the evaluator compares on its own thread,
// overlapped with the next decode, and leaves the cores to llama.cpp.
import { Worker } from 'node:worker_threads';
import type { CompareAnswer, CompareTask } from './compare-worker.js';
import type { PositionFigures } from './math.js';

export class ComparePool {
  readonly #workers: Worker[];
  #ref = new SharedArrayBuffer(0);
  #model = new SharedArrayBuffer(0);

  /** A pool whose workers have started (their start-up is not counted as comparison time). */
  static async start(size: number): Promise<ComparePool> {
    const pool = new ComparePool(size);
    await Promise.all(
      pool.#workers.map(
        (w) =>
          new Promise<void>((resolve, reject) => {
            w.once('message', () => resolve());
            w.once('error', reject);
          }),
      ),
    );
    return pool;
  }

  private constructor(size: number) {
    const fromSource = import.meta.url.endsWith('.ts');
    const url = new URL(`./compare-worker.${fromSource ? 'ts' : 'js'}`, import.meta.url);
    // from source (tests) the worker registers tsx itself: --import hooks do not reach worker threads
    const start = () =>
      fromSource
        ? new Worker(
            `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(url.href)}); });`,
            { eval: true },
          )
        : new Worker(url);
    this.#workers = Array.from({ length: size }, start);
    for (const w of this.#workers) w.unref();
  }

  get size(): number {
    return this.#workers.length;
  }

  /**
   * Rows 0 .. rows-1 of `ref` against rows shift.. of `model` (nVocab floats each), `next[i]` the token after
   * reference row i. Resolves with one figure per compared row, in order.
   */
  async compare(
    ref: Float32Array,
    model: Float32Array,
    rows: number,
    shift: number,
    nVocab: number,
    next: Int32Array,
  ): Promise<PositionFigures[]> {
    const count = Math.max(0, rows - shift);
    if (count === 0) return [];
    this.#ref = fill(this.#ref, ref);
    this.#model = fill(this.#model, model);
    const per = Math.ceil(count / this.#workers.length);
    const parts = this.#workers
      .map((w, k) => ({ w, from: k * per, to: Math.min(count, (k + 1) * per) }))
      .filter((p) => p.from < p.to)
      .map(
        ({ w, from, to }) =>
          new Promise<CompareAnswer>((resolve, reject) => {
            const done = (a: CompareAnswer) => {
              w.off('error', fail);
              resolve(a);
            };
            const fail = (e: Error) => {
              w.off('message', done);
              reject(e);
            };
            w.once('message', done);
            w.once('error', fail);
            const task: CompareTask = { ref: this.#ref, model: this.#model, nVocab, from, to, shift, next };
            w.postMessage(task);
          }),
      );
    const out: PositionFigures[] = [];
    for (const a of await Promise.all(parts)) {
      for (let i = 0; i < a.kl.length; i++) {
        out.push({
          kl: a.kl[i] as number,
          same: a.same[i] === 1,
          nllRef: a.nllRef[i] as number,
          nllModel: a.nllModel[i] as number,
        });
      }
    }
    return out;
  }

  async close(): Promise<void> {
    await Promise.all(this.#workers.map((w) => w.terminate()));
  }
}

/** `data` copied into `buf` (grown when too small); returns the buffer holding it. */
function fill(buf: SharedArrayBuffer, data: Float32Array): SharedArrayBuffer {
  const out = buf.byteLength >= data.byteLength ? buf : new SharedArrayBuffer(data.byteLength);
  new Float32Array(out, 0, data.length).set(data);
  return out;
}
