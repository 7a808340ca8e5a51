import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { baseModelNameOf } from '../../../../shared/servers.js';
import type { Settings } from '../../../../shared/settings.js';
import type { BackendStatus } from '../../../../shared/system.js';
import type { EngineProbe } from '../../engine/detect.js';
import { type ConvertGguf, prepareGguf } from '../../engine/prepare.js';
import { BerthError } from '../../errors.js';
import type { Backend, LaunchPlan, LaunchTarget, PreparedModel } from '../backend.js';
import { servesModel } from './openai-models.js';

/** Loading a multi-GB GGUF from a cold disk can take minutes. */
export const ENGINE_STARTUP_DEADLINE_MS = 5 * 60_000;

/** How to run Berth's engine entry: a Node (or Electron running as Node) and the arguments before our flags. */
export interface EngineCommand {
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd?: string;
}

export interface LlamaCppBackendDeps {
  settings: () => Settings;
  /** The converter (`core.conversion.convert`); a .gguf model path skips it. */
  convert: ConvertGguf;
  /** Defaults to {@link defaultEngineCommand}. */
  engine?: EngineCommand;
  /** CPU threads for the engine (`--threads`); unset lets node-llama-cpp choose. */
  threads?: number;
}

/**
 * This process's executable running the engine entry next to this file: the compiled `engine/main.js` under
 * dist/, or `engine/main.ts` through tsx when Berth itself runs from source (tests). Under Electron,
 * process.execPath is the Electron binary, which runs plain Node with ELECTRON_RUN_AS_NODE=1.
 */
export function defaultEngineCommand(): EngineCommand {
  const fromSource = import.meta.url.endsWith('.ts');
  const entry = fileURLToPath(new URL(`../../engine/main.${fromSource ? 'ts' : 'js'}`, import.meta.url));
  const env: Record<string, string> = process.versions.electron ? { ELECTRON_RUN_AS_NODE: '1' } : {};
  if (!fromSource) return { command: process.execPath, args: [entry], env };
  // `--import tsx` resolves from the working directory: run it from the repository root.
  const root = fileURLToPath(new URL('../../../../', import.meta.url));
  return { command: process.execPath, args: ['--import', 'tsx', entry], env, cwd: root };
}

/**
 * Berth's built-in engine (electron/core/engine): node-llama-cpp in a child process with an OpenAI-compatible
 * API. Works on any machine node-llama-cpp has a binary for (GPU where it supports one, else CPU).
 */
export function createLlamaCppBackend(deps: LlamaCppBackendDeps): Backend {
  const engine = deps.engine ?? defaultEngineCommand();
  /** API keys by port: /v1/models needs it, and ServerInfo never carries secrets. */
  const apiKeys = new Map<number, string>();

  return {
    type: 'llamacpp',
    defaultPort: 8080,
    apiKey: (server) => apiKeys.get(server.port),
    baseModelName: (model) =>
      model.adapter_gguf_path !== undefined ? baseModelNameOf(model.model_name) : undefined,

    async detect(signal) {
      const result = await execa(engine.command, [...engine.args, '--detect'], {
        reject: false,
        timeout: 60_000,
        env: { PATH: process.env.PATH ?? '', ...engine.env },
        extendEnv: false,
        ...(engine.cwd ? { cwd: engine.cwd } : {}),
        ...(signal ? { cancelSignal: signal } : {}),
      });
      const probe = parseProbe(String(result.stdout));
      const status: BackendStatus = probe?.ok
        ? {
            name: 'llamacpp',
            installed: true,
            version: `node-llama-cpp ${probe.version}`,
            detail: probe.gpu ? `${probe.gpu}: ${probe.devices.join(', ') || 'GPU'}` : 'CPU',
          }
        : {
            name: 'llamacpp',
            installed: false,
            detail:
              probe?.error ?? (String(result.stderr).trim().split('\n').at(-1) || 'the engine did not start'),
            install_hint:
              'Reinstall Berth: node-llama-cpp ships prebuilt binaries for Linux, macOS and Windows (x64, arm64).',
          };
      return status;
    },

    prepare: (input, ctx) => prepareGguf(input, ctx, deps.convert),

    launch(model, target) {
      if (model.config.api_key) apiKeys.set(target.port, model.config.api_key);
      else apiKeys.delete(target.port);
      return engineLaunchPlan(model, target, engine, deps.threads);
    },

    async health(server, signal) {
      const health = await fetch(`${server.base_url}/health`, { ...(signal ? { signal } : {}) });
      await health.body?.cancel();
      if (health.status !== 200) return false;
      return servesModel(server, apiKeys.get(server.port), signal);
    },

    classifyFailure: (logTail, model) => classifyEngineFailure(logTail, model),
  };
}

/** The engine's command line for a prepared model. */
export function engineLaunchPlan(
  model: PreparedModel,
  target: LaunchTarget,
  engine: EngineCommand,
  threads?: number,
): LaunchPlan {
  if (!model.gguf_path) throw new BerthError('INTERNAL', 'The built-in engine needs a prepared GGUF');
  const args = [...engine.args, '--model', model.gguf_path];
  if (model.adapter_gguf_path) args.push('--lora', model.adapter_gguf_path);
  args.push('--host', target.host, '--port', String(target.port), '--name', model.model_name);
  if (model.config.context_length !== undefined) args.push('--ctx', String(model.config.context_length));
  if (model.config.api_key !== undefined) args.push('--api-key', model.config.api_key);
  if (threads !== undefined) args.push('--threads', String(threads));
  return {
    command: engine.command,
    args,
    env: engine.env,
    ...(engine.cwd ? { cwd: engine.cwd } : {}),
    startupDeadlineMs: ENGINE_STARTUP_DEADLINE_MS,
  };
}

const CODED_LINE = /engine: error ([A-Z_]+): (.*)$/;
const OOM_LINE = /out of memory|failed to allocate|cudaMalloc failed|ErrorOutOfDeviceMemory/i;

/** The engine's coded last words (`engine: error CODE: ...`), or llama.cpp's allocation failures, as errors. */
export function classifyEngineFailure(logTail: string[], model: PreparedModel): BerthError | undefined {
  const gguf = model.gguf_path ?? model.model_path;
  const coded = logTail.map((line) => CODED_LINE.exec(line)).findLast(Boolean);
  const oom = logTail.find((line) => OOM_LINE.test(line));
  if (coded?.[1] === 'OUT_OF_MEMORY' || (oom && coded?.[1] !== 'PORT_IN_USE')) {
    return new BerthError(
      'OUT_OF_MEMORY',
      `Not enough memory to load ${gguf}: ${(coded?.[2] ?? oom ?? '').trim()}`,
      'Pick a smaller quantization (Q4_K_M), a shorter context_length, or free memory held by other servers.',
    );
  }
  switch (coded?.[1]) {
    case 'MODEL_LOAD_FAILED':
      return new BerthError(
        'MODEL_LOAD_FAILED',
        `The built-in engine could not load ${gguf}: ${coded[2]}`,
        'The GGUF may be truncated or made for a newer llama.cpp; convert the model again (or pick another file).',
      );
    case 'MODEL_NOT_FOUND':
      return new BerthError(
        'MODEL_NOT_FOUND',
        `No GGUF file at ${gguf}`,
        'It was moved or deleted; deploy again.',
      );
    case 'PORT_IN_USE':
      return new BerthError(
        'PORT_IN_USE',
        coded[2] ?? 'port in use',
        'Pick another port, or leave it empty.',
      );
    case 'INVALID_ARGUMENTS':
      return new BerthError('INVALID_REQUEST', `The engine refused its arguments: ${coded[2]}`);
    default:
      return undefined;
  }
}

function parseProbe(stdout: string): EngineProbe | undefined {
  const line = stdout.trim().split('\n').at(-1);
  try {
    return line ? (JSON.parse(line) as EngineProbe) : undefined;
  } catch {
    return undefined;
  }
}
