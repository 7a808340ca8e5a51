import {
  type ChatHistoryItem,
  getLlama,
  type Llama,
  LlamaChat,
  LlamaCompletion,
  type LlamaContext,
  type LlamaContextSequence,
  LlamaLogLevel,
  type LlamaModel,
} from 'node-llama-cpp';
import type { EngineOptions } from './args.js';
import { ApiError, type ChatMessage, contentText, type FinishReason, type Sampling } from './protocol.js';
import { SlotPool } from './sequence-pool.js';

/** What one generation produced. */
export interface Generation {
  text: string;
  finishReason: FinishReason;
  promptTokens: number;
  completionTokens: number;
}

/** Streaming callbacks and cancellation for one generation. */
export interface GenerationHooks {
  signal: AbortSignal;
  /** Called with each piece of generated text; `reasoning` for a model's thought segments. */
  onText?(text: string, kind: 'content' | 'reasoning'): void;
}

/** Which model a request runs on: the served one, or (with a LoRA adapter) the same weights without the adapter. */
export type Variant = 'served' | 'base';

/** What the engine reports about the loaded model. */
export interface RunnerInfo {
  gpu: string | false;
  gpuLayers: number;
  contextSize: number;
  parallel: number;
  chatWrapper: string;
  trainContextSize: number;
}

/**
 * One loaded GGUF and a pool of context sequences: each request takes a sequence, generates with the model's
 * own chat template (resolved by node-llama-cpp from the GGUF metadata), and gives it back.
 */
export class ModelRunner {
  readonly #pool: SlotPool<LlamaContextSequence>;
  /**
   * With a LoRA adapter, the bare base for base-vs-adapter comparisons: a second context on the same weights
   * without the adapter, one sequence, made on the first request for it (no memory spent until then).
   */
  #basePool: Promise<SlotPool<LlamaContextSequence>> | undefined;

  private constructor(
    readonly llama: Llama,
    readonly model: LlamaModel,
    readonly context: LlamaContext,
    readonly info: RunnerInfo,
    private readonly options: EngineOptions,
  ) {
    const sequences = Array.from({ length: info.parallel }, () => context.getSequence());
    this.#pool = new SlotPool(sequences);
  }

  /** Whether the base model without the adapter can be asked for (the engine runs with --lora). */
  get hasBase(): boolean {
    return this.options.lora !== undefined;
  }

  /** Loads the model (GPU where the binaries support one and `gpu` is auto) and creates its context. */
  static async load(options: EngineOptions, log: (line: string) => void): Promise<ModelRunner> {
    const llama = await getLlama({
      gpu: options.gpu === 'cpu' ? false : 'auto',
      build: 'never',
      logLevel: LlamaLogLevel.warn,
      logger: (level, message) => {
        const text = message.trimEnd();
        if (text) log(`llama.cpp ${level}: ${text}`);
      },
    });
    try {
      const model = await llama.loadModel({ modelPath: options.model });
      const contextSize = options.ctx ?? Math.min(model.trainContextSize, 4096);
      const context = await model.createContext({
        contextSize,
        sequences: options.parallel,
        ...(options.lora ? { lora: { adapters: [{ filePath: options.lora }] } } : {}),
        ...(options.threads !== undefined ? { threads: options.threads } : {}),
      });
      const probe = new LlamaChat({ contextSequence: context.getSequence() });
      const chatWrapper = probe.chatWrapper.wrapperName;
      probe.dispose({ disposeSequence: true });
      return new ModelRunner(
        llama,
        model,
        context,
        {
          gpu: llama.gpu,
          gpuLayers: model.gpuLayers,
          contextSize: context.contextSize,
          parallel: options.parallel,
          chatWrapper,
          trainContextSize: model.trainContextSize,
        },
        options,
      );
    } catch (error) {
      await llama.dispose();
      throw error;
    }
  }

  /** Answers a chat: the messages rendered with the model's chat template, then a new assistant turn. */
  async chat(
    messages: ChatMessage[],
    sampling: Sampling,
    hooks: GenerationHooks,
    variant: Variant = 'served',
  ): Promise<Generation> {
    const history: ChatHistoryItem[] = messages.map(toHistoryItem);
    history.push({ type: 'model', response: [] });
    return this.#withSequence(hooks.signal, variant, async (sequence) => {
      const chat = new LlamaChat({ contextSequence: sequence });
      try {
        const { contextText } = chat.chatWrapper.generateContextState({ chatHistory: history });
        const promptTokens = contextText.tokenize(this.model.tokenizer).length;
        const maxTokens = this.#maxTokens(promptTokens, sampling);
        const outputBefore = sequence.tokenMeter.usedOutputTokens;
        const result = await chat.generateResponse(history, {
          ...this.#samplingOptions(sampling, maxTokens, hooks.signal),
          onResponseChunk: (chunk) => {
            if (!chunk.text) return;
            if (chunk.type === undefined) hooks.onText?.(chunk.text, 'content');
            else if (chunk.segmentType === 'thought') hooks.onText?.(chunk.text, 'reasoning');
          },
        });
        return {
          text: result.response,
          finishReason: finishReasonOf(result.metadata.stopReason),
          promptTokens,
          completionTokens: generatedSince(sequence, outputBefore),
        };
      } finally {
        chat.dispose({ disposeSequence: false });
      }
    });
  }

  /** Continues a raw prompt (no chat template). */
  async complete(
    prompt: string,
    sampling: Sampling,
    hooks: GenerationHooks,
    variant: Variant = 'served',
  ): Promise<Generation> {
    return this.#withSequence(hooks.signal, variant, async (sequence) => {
      const completion = new LlamaCompletion({ contextSequence: sequence });
      try {
        const bos = this.model.tokens.bos !== null && this.model.tokens.shouldPrependBosToken ? 1 : 0;
        const promptTokens = this.model.tokenize(prompt, false).length + bos;
        const maxTokens = this.#maxTokens(promptTokens, sampling);
        const outputBefore = sequence.tokenMeter.usedOutputTokens;
        const result = await completion.generateCompletionWithMeta(prompt, {
          ...this.#samplingOptions(sampling, maxTokens, hooks.signal),
          onTextChunk: (text) => hooks.onText?.(text, 'content'),
        });
        return {
          text: result.response,
          finishReason: finishReasonOf(result.metadata.stopReason),
          promptTokens,
          completionTokens: generatedSince(sequence, outputBefore),
        };
      } finally {
        completion.dispose({ disposeSequence: false });
      }
    });
  }

  /** Requests waiting for a free sequence. */
  get queued(): number {
    return this.#pool.queued;
  }

  async dispose(): Promise<void> {
    await this.llama.dispose();
  }

  async #withSequence<T>(
    signal: AbortSignal,
    variant: Variant,
    work: (sequence: LlamaContextSequence) => Promise<T>,
  ): Promise<T> {
    const pool = variant === 'base' ? await this.#base() : this.#pool;
    const sequence = await pool.acquire(signal);
    try {
      return await work(sequence);
    } finally {
      pool.release(sequence);
    }
  }

  #base(): Promise<SlotPool<LlamaContextSequence>> {
    if (!this.hasBase)
      throw new ApiError(
        404,
        'This server has no base model apart from its adapter.',
        'not_found_error',
        'model_not_found',
        'model',
      );
    this.#basePool ??= this.model
      .createContext({
        contextSize: this.info.contextSize,
        sequences: 1,
        ...(this.options.threads !== undefined ? { threads: this.options.threads } : {}),
      })
      .then((context) => new SlotPool([context.getSequence()]));
    this.#basePool.catch(() => {
      this.#basePool = undefined; // out of memory now need not mean forever
    });
    return this.#basePool;
  }

  /** The tokens a request may generate: what it asked for, at most what is left of the context. */
  #maxTokens(promptTokens: number, sampling: Sampling): number {
    const room = this.info.contextSize - promptTokens;
    if (room < 1) {
      throw new ApiError(
        400,
        `This model's maximum context length is ${this.info.contextSize} tokens, but the prompt has ${promptTokens} tokens.`,
        'invalid_request_error',
        'context_length_exceeded',
        'messages',
      );
    }
    return Math.min(sampling.maxTokens ?? room, room);
  }

  #samplingOptions(sampling: Sampling, maxTokens: number, signal: AbortSignal) {
    return {
      signal,
      stopOnAbortSignal: true,
      maxTokens,
      temperature: sampling.temperature,
      ...(sampling.topP !== undefined ? { topP: sampling.topP } : {}),
      ...(sampling.seed !== undefined ? { seed: sampling.seed } : {}),
      // OpenAI's frequency and presence penalties default to 0: no repeat penalty unless asked.
      repeatPenalty: false as const,
      ...(sampling.stop.length > 0 ? { customStopTriggers: sampling.stop } : {}),
    };
  }
}

function toHistoryItem(message: ChatMessage): ChatHistoryItem {
  const text = contentText(message.content);
  switch (message.role) {
    case 'system':
    case 'developer':
      return { type: 'system', text };
    case 'user':
      return { type: 'user', text };
    case 'assistant':
      return { type: 'model', response: [text] };
  }
}

/**
 * Tokens the model generated since `before`, from the sequence's meter: counting streamed chunks would miss the
 * tokens node-llama-cpp holds back and drops when they begin a stop trigger.
 */
function generatedSince(sequence: LlamaContextSequence, before: number): number {
  return sequence.tokenMeter.usedOutputTokens - before;
}

function finishReasonOf(stopReason: string): FinishReason {
  return stopReason === 'maxTokens' ? 'length' : 'stop';
}
