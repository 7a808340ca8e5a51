#!/usr/bin/env node
// The quality evaluator: two GGUFs (a model and its full-precision reference) in this child process, the
// evaluation text cut into context-sized windows as llama-perplexity does, and per scored token both models'
// full next-token distributions compared (math.ts). readers.ts reads them: raw logits from libllama
// (libllama.ts) where it can be bound and load both models, else node-llama-cpp's API. The job arrives as JSON
// on stdin (protocol.ts); progress, the figures or one error go to stdout as JSON lines. SIGTERM ends it at once.
//
// Memory: both models and two contexts of `context` tokens, plus the logits of at most two chunks of positions
// (job.chunk_bytes), never a whole window's or text's worth.
import { writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
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
import { ComparePool } from './compare-pool.js';
import { loadedLibllamaPath, type RawApi, RawEvaluator } from './libllama.js';
import { QualityAccumulator, scoredPerWindow, windows } from './math.js';
import type { EvaluatorJob, EvaluatorLine } from './protocol.js';
import { JobError, type Scoring, scoreWithLogits, scoreWithProbabilities } from './readers.js';
import type { EvalSegment } from './text.js';

const emit = (line: EvaluatorLine) => process.stdout.write(`${JSON.stringify(line)}\n`);

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
    const workers =
      job.compare_threads ??
      (llama.gpu !== false && job.gpu !== 'cpu' ? Math.min(8, availableParallelism() - 1) : 0);
    if (workers > 1) {
      const pool = await ComparePool.start(workers);
      scoring.pool = pool;
      disposers.push(() => pool.close());
    }
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
      compare_threads: scoring.pool?.size ?? 0,
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
