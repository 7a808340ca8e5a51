import { existsSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import type { ConversionCacheEntry, ConverterEnv } from '../../../shared/conversion.js';
import type { Quantization } from '../../../shared/deploy.js';
import type { Progress } from '../../../shared/events.js';
import type { Clock } from '../clock.js';
import { BerthError } from '../errors.js';
import type { BerthPaths } from '../paths.js';
import { mkdirPrivate } from '../private-fs.js';
import type { SettingsService } from '../settings/settings.js';
import { ConversionCache } from './cache.js';
import { converterCandidates, createConverterEnv, resolveConverterEnv } from './env.js';
import { cacheKey, checkpointFingerprint } from './fingerprint.js';
import { converterRoot, converterVersion } from './locate.js';
import { type LogStream, runConverter } from './run.js';

export interface ConvertRequest {
  modelPath: string;
  quantization: Quantization;
  /** Where the tokenizer is when modelPath has none (a Trainer checkpoint-N/ uses its run's root). */
  tokenizerDir?: string;
  /** A LoRA adapter over modelPath (the base): its llama.cpp LoRA GGUF, or the base merged with it. */
  lora?: { adapterPath: string; mode: 'adapter' | 'merged' };
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
  onLog?: (line: string, stream: LogStream) => void;
}

export interface ConvertResult {
  ggufPath: string;
  cached: boolean;
  bytes: number;
}

/** `core.conversion`: HF folder -> GGUF through the cache, the converter's Python env, and cache management. */
export interface ConversionService {
  /** The cached GGUF for this checkpoint and type, converting (and caching) it first when there is none. */
  convert(request: ConvertRequest): Promise<ConvertResult>;
  /** Converts to a path of the caller's choosing, bypassing the cache (the `berth convert` command). */
  convertTo(request: ConvertRequest & { outPath: string }): Promise<{ ggufPath: string; bytes: number }>;
  cache: { list(): ConversionCacheEntry[]; remove(id: string): void };
  /** Whether the converter can run, with which Python, and what is missing. */
  env(): Promise<ConverterEnv>;
  /** Finds a ready env or creates Berth's own venv from python/requirements.txt. */
  ensureEnv(onProgress?: (p: Progress) => void, signal?: AbortSignal): Promise<ConverterEnv>;
}

export interface ConversionDeps {
  paths: BerthPaths;
  settings: SettingsService;
  clock: Clock;
  env: NodeJS.ProcessEnv;
}

function checkModelPath(modelPath: string): string {
  if (!isAbsolute(modelPath)) {
    throw new BerthError('INVALID_REQUEST', `modelPath must be absolute: ${modelPath}`);
  }
  const path = resolve(modelPath);
  if (!existsSync(path) || !statSync(path).isDirectory()) {
    throw new BerthError(
      'CHECKPOINT_NOT_FOUND',
      `No model folder at ${path}`,
      'Pick the folder with config.json.',
    );
  }
  return path;
}

export function createConversionService(deps: ConversionDeps): ConversionService {
  const cache = new ConversionCache(deps.paths.ggufCacheDir);
  const inFlight = new Map<string, Promise<ConvertResult>>();
  const root = () => converterRoot(deps.env);
  const candidates = () => converterCandidates(root(), deps.paths, deps.settings);

  async function readyPython(): Promise<string> {
    const env = await resolveConverterEnv(candidates(), deps.env);
    if (!env.ready || !env.python) {
      throw new BerthError(
        'CONVERTER_ENV_MISSING',
        `The converter's Python environment is not ready (missing: ${env.missing.join(', ')})`,
        env.hint,
        { converter_env: env },
      );
    }
    return env.python;
  }

  async function convertUncached(request: ConvertRequest, modelPath: string, key: string, version: string) {
    const python = await readyPython();
    mkdirPrivate(deps.paths.ggufCacheDir);
    const outPath = cache.ggufPath(key);
    const lora = request.lora;
    await runConverter({
      python,
      root: root(),
      modelPath: lora ? checkModelPath(lora.adapterPath) : modelPath,
      ...(lora ? { lora: { base: modelPath, mode: lora.mode } } : {}),
      outPath,
      quantization: request.quantization,
      ...(request.tokenizerDir ? { tokenizerDir: checkModelPath(request.tokenizerDir) } : {}),
      env: deps.env,
      ...(request.signal ? { signal: request.signal } : {}),
      ...(request.onProgress ? { onProgress: request.onProgress } : {}),
      ...(request.onLog ? { onLog: request.onLog } : {}),
    });
    const entry = cache.add({
      id: key,
      model_path: lora ? lora.adapterPath : modelPath,
      ...(lora ? { lora_mode: lora.mode, base_model_path: modelPath } : {}),
      quantization: request.quantization,
      created_at: new Date(deps.clock.now()).toISOString(),
      converter_version: version,
    });
    return { ggufPath: entry.gguf_path, cached: false, bytes: entry.bytes };
  }

  return {
    async convert(request) {
      const modelPath = checkModelPath(request.modelPath);
      const version = converterVersion(root());
      // The tokenizer is part of the GGUF: a different tokenizer folder is a different conversion.
      let fingerprint = request.tokenizerDir
        ? `${checkpointFingerprint(modelPath)}+tok:${checkpointFingerprint(checkModelPath(request.tokenizerDir))}`
        : checkpointFingerprint(modelPath);
      // An adapter GGUF or a merge depends on the adapter and the base: both fingerprints are in its key.
      if (request.lora)
        fingerprint = `lora-${request.lora.mode}:${checkpointFingerprint(checkModelPath(request.lora.adapterPath))}+base:${fingerprint}`;
      const key = cacheKey(fingerprint, request.quantization, version);
      const hit = cache.get(key);
      if (hit) {
        request.onLog?.(`[convert] using the cached GGUF ${hit.gguf_path}`, 'berth');
        return { ggufPath: hit.gguf_path, cached: true, bytes: hit.bytes };
      }
      const running = inFlight.get(key);
      if (running) return running; // a second deploy of the same checkpoint shares the first conversion
      const work = convertUncached(request, modelPath, key, version).finally(() => inFlight.delete(key));
      inFlight.set(key, work);
      return work;
    },
    async convertTo(request) {
      const modelPath = checkModelPath(request.modelPath);
      const python = await readyPython();
      const out = await runConverter({
        python,
        root: root(),
        modelPath,
        outPath: resolve(request.outPath),
        quantization: request.quantization,
        ...(request.tokenizerDir ? { tokenizerDir: checkModelPath(request.tokenizerDir) } : {}),
        env: deps.env,
        ...(request.signal ? { signal: request.signal } : {}),
        ...(request.onProgress ? { onProgress: request.onProgress } : {}),
        ...(request.onLog ? { onLog: request.onLog } : {}),
      });
      return { ggufPath: out.path, bytes: out.bytes };
    },
    cache: { list: () => cache.list(), remove: (id) => cache.remove(id) },
    env: () => resolveConverterEnv(candidates(), deps.env),
    async ensureEnv(onProgress, signal) {
      const current = await resolveConverterEnv(candidates(), deps.env);
      if (current.ready) return current;
      await createConverterEnv(root(), deps.paths, deps.env, onProgress, signal);
      return resolveConverterEnv(candidates(), deps.env);
    },
  };
}
