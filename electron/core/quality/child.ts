#!/usr/bin/env node
// The quality evaluator: two GGUFs (a model and its full-precision reference) loaded with node-llama-cpp in this
// child process, the evaluation text cut into context-sized windows as llama-perplexity does, and per scored
// token both models' full next-token distributions compared (math.ts): read as raw logits from libllama
// (libllama.ts) where it can be bound, else through node-llama-cpp's API. The job arrives as JSON on stdin
// (protocol.ts); progress, the figures or one error go to stdout as JSON lines. SIGTERM ends it at once.
//
// Memory: both models and two contexts of `context` tokens, plus the distributions of one chunk of positions
// at a time (job.chunk_bytes), never a whole window's or text's worth.
import { writeFileSync } from 'node:fs';
import {
  type ChatHistoryItem,
  GgufFileType,
  GgufInsights,
  getLlama,
  type Llama,
  type LlamaContextSequence,
  LlamaLogLevel,
  type LlamaModel,
  readGgufFileInfo,
  resolveChatWrapper,
  type Token,
} from 'node-llama-cpp';
import { loadedLibllamaPath, type RawApi, RawEvaluator } from './libllama.js';
import {
  compareLogits,
  logProbs,
  QualityAccumulator,
  scoredPerWindow,
  type Window,
  windows,
} from './math.js';
import type { EvaluatorJob, EvaluatorLine } from './protocol.js';
import type { EvalSegment } from './text.js';

const emit = (line: EvaluatorLine) => process.stdout.write(`${JSON.stringify(line)}\n`);

class JobError extends Error {
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

function fileTypeName(model: LlamaModel): string {
  const t = model.fileInfo.metadata.general?.file_type;
  if (t === undefined) return 'unknown';
  const name = GgufFileType[t as number];
  return name ? name.replace(/^(MOSTLY|ALL)_/, '') : `type ${t}`;
}

function tokenizeSegment(model: LlamaModel, s: EvalSegment): Token[] {
  if ('text' in s) return model.tokenize(s.text, false);
  const history: ChatHistoryItem[] = s.messages.map((m) =>
    m.role === 'assistant' ? { type: 'model', response: [m.content] } : { type: m.role, text: m.content },
  );
  const wrapper = resolveChatWrapper(model);
  const { contextText } = wrapper.generateContextState({ chatHistory: history });
  return contextText.tokenize(model.tokenizer);
}

function tokenizeAll(model: LlamaModel, segments: EvalSegment[]): Token[] {
  const out: Token[] = [];
  for (const s of segments) for (const t of tokenizeSegment(model, s)) out.push(t);
  return out;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Tokens/s of greedy generation after a short prompt from the text (the prompt's evaluation not counted). */
async function generationSpeed(
  seq: LlamaContextSequence,
  tokens: Token[],
  count: number,
  context: number,
  bos: Token | null,
): Promise<number | undefined> {
  emit({ event: 'progress', stage: 'speed', done: 0, total: count });
  await seq.clearHistory();
  const prompt = tokens.slice(0, Math.min(32, tokens.length));
  if (bos !== null) prompt[0] = bos;
  const budget = Math.max(2, Math.min(count, context - prompt.length - 1));
  let n = 0;
  let firstAt = 0;
  for await (const _token of seq.evaluate(prompt, { temperature: 0 })) {
    if (n === 0) firstAt = performance.now();
    n++;
    if (n >= budget) break;
  }
  emit({ event: 'progress', stage: 'speed', done: count, total: count });
  const seconds = (performance.now() - firstAt) / 1000;
  return n > 1 && seconds > 0 ? (n - 1) / seconds : undefined;
}

async function speedOnly(job: EvaluatorJob): Promise<void> {
  const llama = await getLlama({
    gpu: job.gpu === 'cpu' ? false : 'auto',
    build: 'never',
    logLevel: LlamaLogLevel.error,
  });
  const model = await llama.loadModel({ modelPath: job.model }).catch((error: Error) => {
    throw new JobError('MODEL_LOAD_FAILED', `${job.model}: ${error.message}`);
  });
  const tokens = tokenizeAll(model, job.segments);
  const ctx = await model.createContext({
    contextSize: job.context,
    sequences: 1,
    ...(job.threads ? { threads: job.threads } : {}),
  });
  const bos = model.tokens.bos !== null && model.tokens.shouldPrependBosToken ? model.tokens.bos : null;
  const tps = await generationSpeed(ctx.getSequence(), tokens, job.speed_tokens || 32, job.context, bos);
  emit({ event: 'speed', tokens_per_second: tps ?? null });
  await ctx.dispose();
  await model.dispose();
  await llama.dispose();
}

interface Scoring {
  winTokens: Token[][];
  wins: Window[];
  acc: QualityAccumulator;
  shift: number;
  chunkBytes: number;
  progress: () => void;
}

/**
 * The fast reader: each window decoded once per model through libllama (the prefix and the first chunk of scored
 * positions in one batch, as llama-perplexity decodes a window), the logits of the scored positions copied out of
 * llama.cpp's output buffer and compared here. Pipelined: while this thread compares chunk k, libllama (on koffi's
 * worker thread) already decodes chunk k+1, so a report costs about its two evaluations, or the comparison's
 * arithmetic where that is longer (tiny models with big vocabularies). Two chunks' logits are alive at a time.
 */
async function scoreWithLogits(ref: RawEvaluator, mod: RawEvaluator, s: Scoring): Promise<void> {
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
    for (let i = 0; i + s.shift < rows; i++) {
      s.acc.addMeasured(compareLogits(lr, i, lm, i + s.shift, nVocab, t[j.from + i + 1] as number));
      if (i % 8 === 7) await yieldToLoop(); // lets the next decode's completion hand over to the other model
    }
    s.progress();
  }
}

/** The fallback reader: node-llama-cpp's per-position probabilities (a Map of the whole vocabulary each). */
async function scoreWithProbabilities(
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

const vocabMismatch = (a: number, b: number) =>
  new JobError('VOCAB_MISMATCH', `The vocabularies differ: ${a} tokens in the reference, ${b} in the model`);

/**
 * Both models in libllama for raw logits, with as many layers on the GPU as node-llama-cpp would put there for
 * each (its own fit, against the VRAM left after the one before). Throws where either cannot be loaded so; the
 * caller then reads through node-llama-cpp, which reports a file that cannot be loaded at all with its code.
 */
async function openRaw(
  api: RawApi,
  llama: Llama,
  job: EvaluatorJob,
  chunkBytes: number,
  disposers: Array<() => unknown>,
): Promise<{ ref: RawEvaluator; mod: RawEvaluator }> {
  const cpuOnly = job.gpu === 'cpu' || llama.gpu === false;
  const open = async (path: string) => {
    const gpuLayers = cpuOnly
      ? 0
      : (
          await (
            await GgufInsights.from(await readGgufFileInfo(path), llama)
          ).configurationResolver.resolveModelGpuLayersV2('auto')
        ).gpuLayers;
    const ev = await RawEvaluator.open(api, path, {
      context: job.context,
      chunkBytes,
      gpuLayers,
      cpuOnly,
      ...(job.threads ? { threads: job.threads } : {}),
    });
    disposers.push(() => ev.dispose());
    return ev;
  };
  const ref = await open(job.reference);
  emit({ event: 'progress', stage: 'loading', done: 1, total: 2 });
  return { ref, mod: await open(job.model) };
}

/** libllama bound for raw logits, or why not (the evaluator then reads probabilities through node-llama-cpp). */
function bindLibllama(gpu: string | false): { api?: RawApi; why?: string } {
  const path = loadedLibllamaPath(gpu);
  if (!path) return { why: 'the libllama node-llama-cpp loaded was not found' };
  try {
    return { api: RawEvaluator.bindApi(path) };
  } catch (error) {
    return { why: (error as Error).message };
  }
}

async function run(job: EvaluatorJob): Promise<void> {
  if (job.speed_only) return speedOnly(job);
  const started = performance.now();
  emit({ event: 'progress', stage: 'loading', done: 0, total: 2 });
  const llama = await getLlama({
    gpu: job.gpu === 'cpu' ? false : 'auto',
    build: 'never',
    logLevel: LlamaLogLevel.error,
    logger: (_level, message) => {
      if (message.trim()) process.stderr.write(`llama.cpp: ${message.trimEnd()}\n`);
    },
  });
  const bound = job.method === 'probabilities' ? { why: 'asked for' } : bindLibllama(llama.gpu);
  const chunkBytes = job.chunk_bytes ?? 64 * 1024 * 1024;
  const threads = job.threads ? { threads: job.threads } : {};
  const disposers: Array<() => unknown> = [];
  let raw: { ref: RawEvaluator; mod: RawEvaluator } | undefined;
  let why = bound.why;
  if (bound.api) {
    try {
      raw = await openRaw(bound.api, llama, job, chunkBytes, disposers);
    } catch (error) {
      for (const d of disposers.splice(0)) await d();
      why = (error as Error).message;
    }
  }
  const method = raw ? 'logits' : 'probabilities';
  if (!raw && job.method !== 'probabilities') {
    process.stderr.write(
      `berth: raw logits unavailable (${why}); reading distributions through node-llama-cpp (slower)\n`,
    );
  }
  // With raw logits node-llama-cpp only tokenizes (vocabulary only); the weights are loaded once, in libllama.
  const load = (path: string) =>
    llama.loadModel({ modelPath: path, vocabOnly: method === 'logits' }).catch((error: Error) => {
      throw new JobError('MODEL_LOAD_FAILED', `${path}: ${error.message}`);
    });
  const reference = await load(job.reference);
  if (!raw) emit({ event: 'progress', stage: 'loading', done: 1, total: 2 });
  const model = await load(job.model);
  emit({ event: 'progress', stage: 'loading', done: 2, total: 2 });

  emit({ event: 'progress', stage: 'tokenizing', done: 0, total: 1 });
  const tokens = tokenizeAll(reference, job.segments);
  const other = tokenizeAll(model, job.segments);
  if (other.length !== tokens.length || other.some((t, i) => t !== tokens[i])) {
    throw new JobError(
      'VOCAB_MISMATCH',
      `${job.model} and ${job.reference} tokenize the evaluation text differently`,
      'Compare a quantization with the F16 GGUF of the same checkpoint.',
    );
  }
  const context = job.context;
  const wins = windows(tokens.length, context, job.max_windows ?? 0);
  if (wins.length === 0) {
    throw new JobError(
      'EVAL_TEXT_TOO_SHORT',
      `The evaluation text is ${tokens.length} tokens; one window needs ${context}`,
      'Give a longer text, or a smaller context.',
    );
  }
  const bos = reference.tokens.bos;
  const useBos = bos !== null && reference.tokens.shouldPrependBosToken;
  const winTokens = wins.map((w) => {
    const t = tokens.slice(w.start, w.start + w.size);
    if (useBos) t[0] = bos as Token; // as llama-perplexity: each window starts at BOS
    return t;
  });
  if (job.dump_windows) {
    writeFileSync(
      job.dump_windows,
      JSON.stringify({ first: wins[0]?.first, bos: useBos, windows: winTokens }),
    );
  }
  emit({ event: 'progress', stage: 'tokenizing', done: 1, total: 1 });

  const total = wins.reduce((s, w) => s + scoredPerWindow(w), 0);
  const acc = new QualityAccumulator();
  let evalStarted = 0;
  const scoring: Scoring = {
    winTokens,
    wins,
    acc,
    shift: job.test_shift ?? 0,
    chunkBytes,
    progress: () => {
      const elapsed = (performance.now() - evalStarted) / 1000;
      const done = acc.tokens;
      emit({
        event: 'progress',
        stage: 'evaluating',
        done,
        total,
        elapsed_s: elapsed,
        ...(done > 0 ? { eta_s: (elapsed / done) * (total - done) } : {}),
      });
    },
  };
  let evalSeconds: number;
  let speedSeq: LlamaContextSequence | undefined;
  if (raw) {
    evalStarted = performance.now();
    await scoreWithLogits(raw.ref, raw.mod, scoring);
    evalSeconds = (performance.now() - evalStarted) / 1000;
  } else {
    const opts = { contextSize: context, sequences: 1, batchSize: context, ...threads };
    const refCtx = await reference.createContext(opts);
    const modCtx = await model.createContext(opts);
    disposers.push(
      () => refCtx.dispose(),
      () => modCtx.dispose(),
    );
    speedSeq = modCtx.getSequence();
    evalStarted = performance.now();
    await scoreWithProbabilities(refCtx.getSequence(), speedSeq, scoring);
    evalSeconds = (performance.now() - evalStarted) / 1000;
  }
  const figures = acc.figures();
  let tokensPerSecond: number | undefined;
  if (job.speed_tokens && job.speed_tokens > 0) {
    let full: LlamaModel | undefined;
    if (!speedSeq) {
      // the built-in engine generates through node-llama-cpp: time it there, on the weights loaded for that
      for (const d of disposers.splice(0)) await d();
      full = await llama.loadModel({ modelPath: job.model });
      const ctx = await full.createContext({ contextSize: context, sequences: 1, ...threads });
      disposers.push(() => ctx.dispose());
      speedSeq = ctx.getSequence();
    }
    tokensPerSecond = await generationSpeed(speedSeq, tokens, job.speed_tokens, context, useBos ? bos : null);
    if (full) disposers.push(() => full.dispose());
  }
  emit({
    event: 'done',
    figures: {
      ...figures,
      model_type: fileTypeName(model),
      reference_type: fileTypeName(reference),
      context,
      windows: wins.length,
      seconds: (performance.now() - started) / 1000,
      eval_seconds: evalSeconds,
      gpu: llama.gpu,
      method,
      ...(tokensPerSecond !== undefined ? { tokens_per_second: tokensPerSecond } : {}),
    },
  });
  for (const d of disposers) await d();
  await model.dispose();
  await reference.dispose();
  await llama.dispose();
}

async function main() {
  process.on('SIGTERM', () => process.exit(143));
  process.on('SIGINT', () => process.exit(130));
  let job: EvaluatorJob;
  try {
    job = JSON.parse(await readStdin()) as EvaluatorJob;
  } catch (error) {
    emit({
      event: 'error',
      code: 'INVALID_REQUEST',
      message: `bad job on stdin: ${(error as Error).message}`,
    });
    process.exit(2);
  }
  try {
    await run(job);
    process.exit(0);
  } catch (error) {
    if (error instanceof JobError) {
      emit({
        event: 'error',
        code: error.code,
        message: error.message,
        ...(error.hint ? { hint: error.hint } : {}),
      });
    } else {
      const message = (error as Error)?.message ?? String(error);
      const code = /out of memory|failed to allocate|ErrorOutOfDeviceMemory/i.test(message)
        ? 'OUT_OF_MEMORY'
        : 'QUALITY_FAILED';
      emit({ event: 'error', code, message });
    }
    process.exit(1);
  }
}

void main();
