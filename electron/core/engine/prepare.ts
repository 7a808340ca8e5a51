import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Quantization } from '../../../shared/deploy.js';
import type { Progress } from '../../../shared/events.js';
import { BerthError } from '../errors.js';
import type { PreparedModel, PrepareInput, StageContext } from '../servers/backend.js';

/** What a GGUF backend asks the converter for (`core.conversion.convert`). */
export interface ConvertRequest {
  modelPath: string;
  quantization: Quantization;
  tokenizerDir?: string;
  /** A LoRA adapter over modelPath (its base): the adapter as a llama.cpp LoRA GGUF, or merged into the base. */
  lora?: { adapterPath: string; mode: 'adapter' | 'merged' };
  signal?: AbortSignal;
  onProgress?: (progress: Progress) => void;
  onLog?: (line: string) => void;
}
export interface ConvertResult {
  ggufPath: string;
  cached: boolean;
  bytes: number;
}
/** The converter, injected into the GGUF backends (tests pass a real GGUF instead of converting). */
export type ConvertGguf = (request: ConvertRequest) => Promise<ConvertResult>;

/**
 * Below this many bytes of weights a model stays F16: quantizing saves next to nothing there, and tiny test
 * models' rows are often shorter than the 256-value blocks k-quants need. Above it the default is Q4_K_M.
 */
export const F16_BELOW_BYTES = 1024 ** 3;
const WEIGHT_FILE = /\.(safetensors|bin|pt|pth)$/;

/**
 * Gets the GGUF a llama.cpp-based backend (the built-in engine, Ollama) serves: a .gguf input as it is, else
 * the converter's output (converted now or from its cache) in the requested or default quantization.
 */
export async function prepareGguf(
  input: PrepareInput,
  ctx: StageContext,
  convert: ConvertGguf,
): Promise<PreparedModel> {
  if (input.adapter_path && input.base_model_path) return prepareAdapter(input, ctx, convert);
  if (input.model_path.endsWith('.gguf')) {
    await assertGguf(input.model_path);
    ctx.stage('convert', 'skipped');
    ctx.stage('quantize', 'skipped');
    return { ...input, gguf_path: input.model_path };
  }
  const quantization = input.config.quantization ?? (await defaultQuantization(input.model_path));
  ctx.log(`converting ${input.model_path} to GGUF (${quantization})`, 'berth');
  if (input.tokenizer_path)
    ctx.log(`no tokenizer beside the weights: using the one in ${input.tokenizer_path}`, 'berth');
  ctx.stage('convert', 'started');
  let quantizing = false;
  const result = await convert({
    modelPath: input.model_path,
    quantization,
    ...(input.tokenizer_path ? { tokenizerDir: input.tokenizer_path } : {}),
    signal: ctx.signal,
    onProgress: (progress) => {
      // The converter reports its own two stages; the stepper shows them as Convert, then Quantize.
      if (progress.stage === 'quantize' && !quantizing) {
        quantizing = true;
        ctx.stage('convert', 'done');
        ctx.stage('quantize', 'started');
      }
      ctx.progress(progress);
    },
    onLog: (line) => ctx.log(line),
  });
  ctx.stage('convert', 'done');
  ctx.stage('quantize', quantizing ? 'done' : 'skipped');
  ctx.log(
    `${result.cached ? 'reusing cached' : 'wrote'} ${result.ggufPath} (${result.bytes} bytes)`,
    'berth',
  );
  return { ...input, gguf_path: result.ggufPath, quantization, cached: result.cached };
}

/** Quantizations below Q8_0: there a merged model keeps quality that an F16 adapter over the quantized base loses. */
const BELOW_Q8 = new Set<Quantization>(['Q4_K_M', 'Q5_K_M']);

/** How a LoRA adapter is served on a GGUF backend, and the reason shown next to the choice. */
export function chooseAdapterMode(
  requested: 'adapter' | 'merged' | undefined,
  quantization: Quantization,
): { mode: 'adapter' | 'merged'; reason: string } {
  const trade =
    'adapter: one small LoRA GGUF over the shared base GGUF, so switching checkpoints costs one small file; merged: a whole model per checkpoint, quantized with the adapter folded in';
  if (requested === 'adapter' && BELOW_Q8.has(quantization)) {
    return {
      mode: 'adapter',
      reason: `as asked; note that the F16 adapter runs over a ${quantization} base, which loses some of what the adapter learned (merged keeps it) — ${trade}`,
    };
  }
  if (requested) return { mode: requested, reason: `as asked — ${trade}` };
  if (BELOW_Q8.has(quantization)) {
    return {
      mode: 'merged',
      reason: `merged by default below Q8_0: quantizing the merged model to ${quantization} keeps quality that an F16 adapter over a ${quantization} base loses — ${trade}`,
    };
  }
  return { mode: 'adapter', reason: `adapter by default at ${quantization} — ${trade}` };
}

/** A LoRA adapter: the base converted once (cached, shared by every checkpoint) plus the adapter GGUF, or a merge. */
async function prepareAdapter(
  input: PrepareInput,
  ctx: StageContext,
  convert: ConvertGguf,
): Promise<PreparedModel> {
  const base = input.base_model_path as string;
  const adapterPath = input.adapter_path as string;
  const quantization = input.config.quantization ?? (await defaultQuantization(base));
  const { mode, reason } = chooseAdapterMode(input.config.adapter_mode, quantization);
  ctx.log(`LoRA adapter served ${mode}: ${reason}`, 'berth');
  ctx.stage('convert', 'started');
  let quantizing = false;
  const common = {
    signal: ctx.signal,
    onProgress: (progress: Progress) => {
      if (progress.stage === 'quantize' && !quantizing) {
        quantizing = true;
        ctx.stage('convert', 'done');
        ctx.stage('quantize', 'started');
      }
      ctx.progress(progress);
    },
    onLog: (line: string) => ctx.log(line),
  };
  const done = (r: ConvertResult) =>
    ctx.log(`${r.cached ? 'reusing cached' : 'wrote'} ${r.ggufPath} (${r.bytes} bytes)`, 'berth');
  if (mode === 'merged') {
    const merged = await convert({
      modelPath: base,
      quantization,
      lora: { adapterPath, mode: 'merged' },
      ...common,
    });
    done(merged);
    ctx.stage('convert', 'done');
    ctx.stage('quantize', quantizing ? 'done' : 'skipped');
    return {
      ...input,
      gguf_path: merged.ggufPath,
      quantization,
      cached: merged.cached,
      adapter_mode: mode,
      adapter_mode_reason: reason,
    };
  }
  const baseGguf = await convert({ modelPath: base, quantization, ...common });
  done(baseGguf);
  const adapter = await convert({
    modelPath: base,
    quantization: 'F16',
    lora: { adapterPath, mode: 'adapter' },
    ...common,
  });
  done(adapter);
  ctx.stage('convert', 'done');
  ctx.stage('quantize', quantizing ? 'done' : 'skipped');
  return {
    ...input,
    gguf_path: baseGguf.ggufPath,
    quantization,
    cached: baseGguf.cached && adapter.cached,
    adapter_mode: mode,
    adapter_gguf_path: adapter.ggufPath,
    adapter_mode_reason: reason,
  };
}

/** Q4_K_M, or F16 when the folder's weights are under F16_BELOW_BYTES. */
export async function defaultQuantization(modelFolder: string): Promise<Quantization> {
  let bytes = 0;
  const entries = await readdir(modelFolder, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    if (entry.isFile() && WEIGHT_FILE.test(entry.name))
      bytes += (await stat(join(modelFolder, entry.name))).size;
  }
  return bytes > 0 && bytes < F16_BELOW_BYTES ? 'F16' : 'Q4_K_M';
}

/** Refuses a path that is not a readable GGUF file (checked by its magic bytes) before any server starts. */
export async function assertGguf(path: string): Promise<void> {
  let magic: string;
  try {
    const handle = await open(path, 'r');
    try {
      const { buffer, bytesRead } = await handle.read(Buffer.alloc(4), 0, 4, 0);
      magic = buffer.subarray(0, bytesRead).toString('latin1');
    } finally {
      await handle.close();
    }
  } catch (error) {
    throw new BerthError(
      'PATH_NOT_FOUND',
      `Cannot read ${path}: ${(error as Error).message}`,
      'Check the path.',
    );
  }
  if (magic !== 'GGUF') {
    throw new BerthError(
      'GGUF_INVALID',
      `${path} is not a GGUF file (it does not start with "GGUF")`,
      'Pick the .gguf file a converter wrote, or deploy the Hugging Face folder so Berth converts it.',
    );
  }
}
