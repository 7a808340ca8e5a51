// Part of the Ollama stand-in (tests only; NOT Ollama): models loaded and run with real llama.cpp.
import { statSync } from 'node:fs';
import { fullName } from './store.mjs';

const log = (level, msg) =>
  process.stderr.write(`time=${new Date().toISOString()} level=${level} source=runner.mjs msg="${msg}"\n`);

/** Loaded models: name -> { model, context, gguf }; one llama.cpp instance for all. */
export class Runner {
  constructor() {
    this.loaded = new Map();
    this.llama = undefined;
  }
  async load(manifest, store) {
    const existing = this.loaded.get(manifest.name);
    if (existing) return existing;
    const { getLlama, LlamaLogLevel } = await import('node-llama-cpp');
    this.llama ??= await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
    const path = store.blobPath(manifest.gguf);
    const limit = Number(process.env.BERTH_STANDIN_OLLAMA_MEMORY_BYTES || 0);
    const size = statSync(path).size;
    if (limit > 0 && size > limit) {
      const gib = (n) => `${(n / 1024 ** 3).toFixed(1)} GiB`;
      throw Object.assign(
        new Error(`model requires more system memory (${gib(size)}) than is available (${gib(limit)})`),
        { status: 500 },
      );
    }
    try {
      const model = await this.llama.loadModel({ modelPath: path });
      const numCtx = Number(manifest.parameters?.num_ctx ?? 2048);
      const context = await model.createContext({
        contextSize: Math.min(numCtx, model.trainContextSize),
        threads: 1,
        ...(manifest.adapter ? { lora: { adapters: [{ filePath: store.blobPath(manifest.adapter) }] } } : {}),
      });
      const entry = { model, context, size, expires_at: new Date(Date.now() + 5 * 60_000).toISOString() };
      this.loaded.set(manifest.name, entry);
      log('INFO', `loaded ${manifest.name} from ${path}`);
      return entry;
    } catch (error) {
      throw Object.assign(
        new Error(`llama runner process has terminated: error loading model: ${error.message}`),
        { status: 500 },
      );
    }
  }
  async unload(name) {
    const entry = this.loaded.get(fullName(name));
    if (!entry) return;
    this.loaded.delete(fullName(name));
    await entry.context.dispose();
    await entry.model.dispose();
  }
}

/** One generation at a time per model (one context sequence), like a single-slot Ollama runner. */
export function generate(entry, messages, options, onText) {
  const run = (entry.queue ?? Promise.resolve()).then(() => generateNow(entry, messages, options, onText));
  entry.queue = run.catch(() => {});
  return run;
}

/** Generates with the model's own chat template (node-llama-cpp reads it from the GGUF), calling onText per piece. */
async function generateNow(entry, messages, options, onText) {
  const { LlamaChat } = await import('node-llama-cpp');
  const sequence = entry.context.getSequence();
  const chat = new LlamaChat({ contextSequence: sequence });
  try {
    const history = messages.map((m) =>
      m.role === 'system'
        ? { type: 'system', text: m.content }
        : m.role === 'assistant'
          ? { type: 'model', response: [m.content] }
          : { type: 'user', text: m.content },
    );
    history.push({ type: 'model', response: [] });
    const { contextText } = chat.chatWrapper.generateContextState({ chatHistory: history });
    const promptTokens = contextText.tokenize(entry.model.tokenizer).length;
    let evalCount = 0;
    const started = process.hrtime.bigint();
    const result = await chat.generateResponse(history, {
      maxTokens: options.num_predict > 0 ? options.num_predict : 128,
      temperature: options.temperature ?? 0.8,
      ...(options.seed !== undefined ? { seed: options.seed } : {}),
      ...(options.top_p !== undefined ? { topP: options.top_p } : {}),
      ...(Array.isArray(options.stop) && options.stop.length ? { customStopTriggers: options.stop } : {}),
      repeatPenalty: false,
      onToken: (tokens) => (evalCount += tokens.length),
      onTextChunk: (text) => text && onText(text),
    });
    return {
      text: result.response,
      done_reason: result.metadata.stopReason === 'maxTokens' ? 'length' : 'stop',
      prompt_eval_count: promptTokens,
      eval_count: evalCount,
      eval_duration: Number(process.hrtime.bigint() - started),
    };
  } finally {
    chat.dispose({ disposeSequence: true });
  }
}
