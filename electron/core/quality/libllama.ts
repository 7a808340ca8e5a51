// Raw next-token logits from llama.cpp for the quality evaluator: node-llama-cpp's public API hands a position's
// distribution back only as a JS Map of the whole vocabulary, sorted, which costs ~1,000x the evaluation itself.
// Here the evaluator calls the same libllama that node-llama-cpp has already loaded in this process (koffi), decodes
// a window with outputs on the scored positions, and copies llama.cpp's float32 logits buffer out (one memcpy).
//
// The structs below mirror the llama.h that node-llama-cpp's binaries were built from. libllama.test.ts parses that
// header out of node-llama-cpp's git bundle and fails when an upgrade changes a field; at run time the defaults
// libllama returns are checked before anything is decoded, and any mismatch makes the evaluator fall back to
// node-llama-cpp's API (slower, same figures).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import koffi from 'koffi';

/** [field, C type as koffi spells it]; enums are `int32_t`, pointers and callbacks `void *`. */
export type Fields = ReadonlyArray<readonly [string, string]>;

export const MODEL_PARAMS: Fields = [
  ['devices', 'void *'],
  ['tensor_buft_overrides', 'void *'],
  ['n_gpu_layers', 'int32_t'],
  ['split_mode', 'int32_t'],
  ['load_mode', 'int32_t'],
  ['lazy_mode', 'int32_t'],
  ['main_gpu', 'int32_t'],
  ['tensor_split', 'void *'],
  ['progress_callback', 'void *'],
  ['progress_callback_user_data', 'void *'],
  ['kv_overrides', 'void *'],
  ['vocab_only', 'bool'],
  ['check_tensors', 'bool'],
  ['use_extra_bufts', 'bool'],
  ['no_host', 'bool'],
  ['no_alloc', 'bool'],
  ['load_mtp', 'bool'],
];

export const CONTEXT_PARAMS: Fields = [
  ['n_ctx', 'uint32_t'],
  ['n_batch', 'uint32_t'],
  ['n_ubatch', 'uint32_t'],
  ['n_seq_max', 'uint32_t'],
  ['n_rs_seq', 'uint32_t'],
  ['n_outputs_max', 'uint32_t'],
  ['n_outputs_max_per_seq', 'uint32_t'],
  ['n_threads', 'int32_t'],
  ['n_threads_batch', 'int32_t'],
  ['ctx_type', 'int32_t'],
  ['rope_scaling_type', 'int32_t'],
  ['pooling_type', 'int32_t'],
  ['attention_type', 'int32_t'],
  ['flash_attn_type', 'int32_t'],
  ['rope_freq_base', 'float'],
  ['rope_freq_scale', 'float'],
  ['yarn_ext_factor', 'float'],
  ['yarn_attn_factor', 'float'],
  ['yarn_beta_fast', 'float'],
  ['yarn_beta_slow', 'float'],
  ['yarn_orig_ctx', 'uint32_t'],
  ['defrag_thold', 'float'],
  ['cb_eval', 'void *'],
  ['cb_eval_user_data', 'void *'],
  ['type_k', 'int32_t'],
  ['type_v', 'int32_t'],
  ['abort_callback', 'void *'],
  ['abort_callback_data', 'void *'],
  ['embeddings', 'bool'],
  ['offload_kqv', 'bool'],
  ['no_perf', 'bool'],
  ['op_offload', 'bool'],
  ['swa_full', 'bool'],
  ['kv_unified', 'bool'],
  ['samplers', 'void *'],
  ['n_samplers', 'size_t'],
  ['ctx_other', 'void *'],
];

export const BATCH: Fields = [
  ['n_tokens', 'int32_t'],
  ['token', 'void *'],
  ['embd', 'void *'],
  ['pos', 'void *'],
  ['n_seq_id', 'void *'],
  ['seq_id', 'void *'],
  ['logits', 'void *'],
];

type Ptr = unknown;
type Params = Record<string, number | boolean | Ptr>;
interface Batch {
  n_tokens: number;
  token: Ptr;
  embd: Ptr;
  pos: Ptr;
  n_seq_id: Ptr;
  seq_id: Ptr;
  logits: Ptr;
}

export interface RawApi {
  modelDefaults(): Params;
  contextDefaults(): Params;
  loadModel: { async(path: string, p: Params, cb: (e: unknown, r: Ptr) => void): void };
  freeModel(m: Ptr): void;
  initContext: { async(m: Ptr, p: Params, cb: (e: unknown, r: Ptr) => void): void };
  freeContext(c: Ptr): void;
  vocab(m: Ptr): Ptr;
  nTokens(v: Ptr): number;
  batchInit(n: number, embd: number, seqs: number): Batch;
  batchFree(b: Batch): void;
  decode: { async(c: Ptr, b: Batch, cb: (e: unknown, r: number) => void): void };
  logits(c: Ptr): Ptr;
  memory(c: Ptr): Ptr;
  memoryClear(mem: Ptr, data: boolean): void;
}

const asyncCall = <T>(fn: (cb: (e: unknown, r: T) => void) => void): Promise<T> =>
  new Promise((resolve, reject) => fn((e, r) => (e ? reject(e) : resolve(r))));

/** libllama.so, libllama.v0.4.0.so, libllama.cuda.v0.4.0.so, libllama.dylib, llama.dll; not libllama-common. */
export const LIBLLAMA = /^(lib)?llama(\.[a-z]+)?(\.v\d[\d.]*)?\.(so|dylib|dll)(\.[\d.]+)?$/;

/**
 * The libllama node-llama-cpp loaded: BERTH_LIBLLAMA when set (as the converter); on Linux the one mapped into this
 * process; else the prebuilt folder for the GPU type node-llama-cpp chose.
 */
export function loadedLibllamaPath(gpu: string | false): string | undefined {
  const override = process.env.BERTH_LIBLLAMA;
  if (override) return existsSync(override) ? override : undefined;
  if (process.platform === 'linux') {
    try {
      for (const line of readFileSync('/proc/self/maps', 'utf8').split('\n')) {
        const path = line.slice(line.indexOf('/'));
        if (line.includes('/') && LIBLLAMA.test(basename(path))) return path;
      }
    } catch {
      // no /proc: the prebuilt folder below
    }
  }
  return prebuiltLibllamaPath(gpu);
}

/** libllama in node-llama-cpp's prebuilt binaries for this platform and GPU type (false: the CPU build). */
export function prebuiltLibllamaPath(gpu: string | false): string | undefined {
  const os = process.platform === 'darwin' ? 'mac' : process.platform === 'win32' ? 'win' : 'linux';
  const suffix = gpu === false ? '' : `-${gpu}`;
  const folder = `${os}-${process.arch}${suffix}`;
  try {
    // the prebuilt package node-llama-cpp depends on, found from node-llama-cpp (its exports name no package.json)
    const nodeLlamaCpp = createRequire(import.meta.url).resolve('node-llama-cpp');
    const entry = createRequire(nodeLlamaCpp).resolve(`@node-llama-cpp/${folder}`);
    const bins = join(dirname(dirname(entry)), 'bins', folder);
    const name = readdirSync(bins).find((f) => LIBLLAMA.test(f));
    return name ? join(bins, name) : undefined;
  } catch {
    return undefined;
  }
}

let structs: { mp: unknown; cp: unknown; batch: unknown } | undefined;
const bound = new Map<string, RawApi>();

function bind(path: string): RawApi {
  const known = bound.get(path);
  if (known) return known;
  const lib = koffi.load(path);
  const fields = (f: Fields) => Object.fromEntries(f.map(([n, t]) => [n, t]));
  structs ??= {
    mp: koffi.struct('berth_llama_model_params', fields(MODEL_PARAMS)),
    cp: koffi.struct('berth_llama_context_params', fields(CONTEXT_PARAMS)),
    batch: koffi.struct('berth_llama_batch', fields(BATCH)),
  };
  const { mp, cp, batch } = structs as { mp: string; cp: string; batch: string };
  const api = {
    modelDefaults: lib.func('llama_model_default_params', mp, []),
    contextDefaults: lib.func('llama_context_default_params', cp, []),
    loadModel: lib.func('llama_model_load_from_file', 'void *', ['str', mp]),
    freeModel: lib.func('llama_model_free', 'void', ['void *']),
    initContext: lib.func('llama_init_from_model', 'void *', ['void *', cp]),
    freeContext: lib.func('llama_free', 'void', ['void *']),
    vocab: lib.func('llama_model_get_vocab', 'void *', ['void *']),
    nTokens: lib.func('llama_vocab_n_tokens', 'int32_t', ['void *']),
    batchInit: lib.func('llama_batch_init', batch, ['int32_t', 'int32_t', 'int32_t']),
    batchFree: lib.func('llama_batch_free', 'void', [batch]),
    decode: lib.func('llama_decode', 'int32_t', ['void *', batch]),
    logits: lib.func('llama_get_logits', 'void *', ['void *']),
    memory: lib.func('llama_get_memory', 'void *', ['void *']),
    memoryClear: lib.func('llama_memory_clear', 'void', ['void *', 'bool']),
  } as unknown as RawApi;
  bound.set(path, api);
  return api;
}

/**
 * The defaults llama.cpp's own source sets (llama-model.cpp / llama-context.cpp): read through our struct mirrors,
 * they only come out right when the layout matches the library.
 */
export function checkLayout(api: RawApi): void {
  const m = api.modelDefaults();
  const c = api.contextDefaults();
  const expect: Array<[string, unknown, unknown]> = [
    ['model.n_gpu_layers', m.n_gpu_layers, -1],
    ['model.vocab_only', m.vocab_only, false],
    ['model.use_extra_bufts', m.use_extra_bufts, true],
    ['context.n_ctx', c.n_ctx, 512],
    ['context.n_batch', c.n_batch, 2048],
    ['context.n_ubatch', c.n_ubatch, 512],
    ['context.n_seq_max', c.n_seq_max, 1],
    ['context.yarn_ext_factor', c.yarn_ext_factor, -1],
    ['context.offload_kqv', c.offload_kqv, true],
    ['context.kv_unified', c.kv_unified, false],
  ];
  const wrong = expect.filter(([, got, want]) => got !== want);
  if (wrong.length) {
    throw new Error(
      `libllama's parameter structs do not match Berth's mirror (${wrong.map(([k, g, w]) => `${k} = ${String(g)}, expected ${String(w)}`).join('; ')})`,
    );
  }
}

export interface RawOptions {
  context: number;
  /**
   * Bytes both models' logits of one decode may take (here and in llama.cpp's output buffer): sets how many
   * positions one decode returns.
   */
  chunkBytes: number;
  threads?: number;
  /** Layers to offload (0 on CPU); llama.cpp's default is all of them. */
  gpuLayers: number;
  cpuOnly: boolean;
}

/** One model and one context, decoding windows and handing back the logits of the positions asked for. */
export class RawEvaluator {
  private constructor(
    private readonly api: RawApi,
    private readonly model: Ptr,
    private readonly ctx: Ptr,
    private readonly batch: Batch,
    readonly nVocab: number,
    private readonly capacity: number,
    /** Most scored positions one decode returns. */
    readonly rows: number,
  ) {
    const seqIds = koffi.decode(batch.seq_id, 'void *', capacity) as Ptr[];
    for (const p of seqIds) koffi.encode(p, 'int32_t', 0); // every token in sequence 0
    koffi.encode(batch.n_seq_id, 'int32_t', new Int32Array(capacity).fill(1), capacity);
    this.token = new Int32Array(capacity);
    this.pos = new Int32Array(capacity);
    this.out = new Int8Array(capacity);
  }

  // Staging for the batch: copied into llama.cpp's batch memory before each decode (koffi.view would map it
  // in place, but Electron forbids external buffers, and the copy costs microseconds).
  private readonly token: Int32Array;
  private readonly pos: Int32Array;
  private readonly out: Int8Array;
  private disposed = false;

  /** Binds libllama and checks its struct layout; throws when either fails (the caller then falls back). */
  static bindApi(path: string): RawApi {
    const api = bind(path);
    checkLayout(api);
    return api;
  }

  static async open(api: RawApi, path: string, o: RawOptions): Promise<RawEvaluator> {
    const mp = { ...api.modelDefaults(), n_gpu_layers: o.cpuOnly ? 0 : o.gpuLayers };
    const model = await asyncCall<Ptr>((cb) => api.loadModel.async(path, mp, cb));
    if (!model) throw new Error(`llama.cpp could not load ${path}`);
    const capacity = o.context;
    const nVocab = api.nTokens(api.vocab(model));
    const rows = Math.max(1, Math.min(capacity, Math.floor(o.chunkBytes / (nVocab * 4 * 2 * 2))));
    const cp = {
      ...api.contextDefaults(),
      n_ctx: o.context,
      n_batch: capacity,
      n_ubatch: Math.min(512, capacity),
      n_seq_max: 1,
      n_outputs_max: rows,
      n_outputs_max_per_seq: 0,
      ...(o.threads ? { n_threads: o.threads, n_threads_batch: o.threads } : {}),
      ...(o.cpuOnly ? { offload_kqv: false, op_offload: false } : {}),
    };
    const ctx = await asyncCall<Ptr>((cb) => api.initContext.async(model, cp, cb));
    if (!ctx) {
      api.freeModel(model);
      throw new Error(`llama.cpp could not create a ${o.context}-token context for ${path}`);
    }
    return new RawEvaluator(api, model, ctx, api.batchInit(capacity, 0, 1), nVocab, capacity, rows);
  }

  /** Empties the KV cache (a new window). */
  clear(): void {
    this.api.memoryClear(this.api.memory(this.ctx), true);
  }

  /**
   * Decodes `tokens` at positions `at`.. (continuing the cache) with outputs for the positions from index
   * `outputFrom` of `tokens` on. Resolves with a copy of llama.cpp's logits: one row of nVocab floats per output.
   */
  async decode(tokens: ArrayLike<number>, at: number, outputFrom: number): Promise<Float32Array> {
    const n = tokens.length;
    if (n > this.capacity)
      throw new RangeError(`${n} tokens in one decode; the batch holds ${this.capacity}`);
    for (let i = 0; i < n; i++) {
      this.token[i] = tokens[i] as number;
      this.pos[i] = at + i;
      this.out[i] = i >= outputFrom ? 1 : 0;
    }
    koffi.encode(this.batch.token, 'int32_t', this.token, n);
    koffi.encode(this.batch.pos, 'int32_t', this.pos, n);
    koffi.encode(this.batch.logits, 'int8_t', this.out, n);
    const rc = await asyncCall<number>((cb) =>
      this.api.decode.async(this.ctx, { ...this.batch, n_tokens: n }, cb),
    );
    if (rc !== 0) throw new Error(`llama_decode returned ${rc}`);
    const outputs = Math.max(0, n - outputFrom);
    if (outputs === 0) return new Float32Array(0);
    const ptr = this.api.logits(this.ctx);
    if (!ptr) throw new Error('llama.cpp returned no logits');
    return koffi.decode(ptr, 'float', outputs * this.nVocab) as Float32Array;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.api.batchFree(this.batch);
    this.api.freeContext(this.ctx);
    this.api.freeModel(this.model);
  }
}
