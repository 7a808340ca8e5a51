import type { DeployConfig, Quantization, ServerType } from '../../../shared/deploy.js';
import type { Progress } from '../../../shared/events.js';
import type { ServerInfo } from '../../../shared/servers.js';
import type { BackendStatus } from '../../../shared/system.js';
import type { AdapterFacts } from '../checkpoints/adapter-base.js';
import type { BerthError } from '../errors.js';

/**
 * The one interface every inference backend implements (vLLM, Ollama, Berth's built-in llama.cpp engine).
 * Routing on server_type happens once, in deploy(); after that the deploy flow and the supervisor only talk to
 * this interface:  prepare -> launch (supervisor spawns it) -> health -> afterStart -> describe ... stop.
 */
export interface Backend {
  readonly type: ServerType;
  /** The port range this backend usually listens on (vLLM 8000, Ollama 11434, built-in 8080). */
  readonly defaultPort: number;

  /** Whether the backend can run here, its version, and how to install it when not. */
  detect(signal?: AbortSignal): Promise<BackendStatus>;

  /**
   * Gets the model into the form the backend serves. vLLM: nothing (the HF folder as is, never GGUF).
   * Ollama and the built-in engine: a GGUF (converted and quantized, or from the conversion cache).
   */
  prepare(input: PrepareInput, ctx: StageContext): Promise<PreparedModel>;

  /**
   * The child process to run, as an argument array (never a shell string), or `undefined` when the backend
   * uses a server that is already running (e.g. the user's own Ollama at the configured host).
   */
  launch(model: PreparedModel, target: LaunchTarget): LaunchPlan | undefined;

  /**
   * Where an already-running server answers, when launch() returns undefined (the user's own Ollama): the
   * manager records this address instead of picking a port of its own.
   */
  external?(model: PreparedModel): { host: string; port: number } | undefined;

  /**
   * The name the same server answers to with the bare base model, for a LoRA adapter served over its base
   * (vLLM and the built-in engine: `<name>-base`); the playground compares the two.
   */
  baseModelName?(model: PreparedModel): string | undefined;

  /** The API key clients must send to this server, when it was started with one (kept out of ServerInfo). */
  apiKey?(server: ServerInfo): string | undefined;

  /** One readiness probe: true once the server answers as ready for this model. */
  health(server: ServerInfo, signal?: AbortSignal): Promise<boolean>;

  /** Work after the server is healthy (Ollama: import the GGUF, create the model, warm it up). */
  afterStart?(server: ServerInfo, model: PreparedModel, ctx: StageContext): Promise<void>;

  /** Backend-specific cleanup before the process is stopped (Ollama: unload with keep_alive 0). */
  beforeStop?(server: ServerInfo): Promise<void>;

  /** Backend-specific removal (Ollama: delete the model). */
  remove?(server: ServerInfo): Promise<void>;

  /** Turns known failures in the server's log tail into an error with a hint (e.g. CUDA out of memory). */
  classifyFailure(logTail: string[], model: PreparedModel): BerthError | undefined;
}

/** What deploy() hands a backend after resolving the checkpoint. */
export interface PrepareInput {
  /** Absolute path of the HF model folder (or a GGUF file). */
  model_path: string;
  /** For LoRA adapters: the base model folder, and the adapter folder. */
  base_model_path?: string;
  adapter_path?: string;
  /** For LoRA adapters: what the check against the base learned (rank, alpha, sizes). */
  adapter?: AdapterFacts;
  /** vLLM: more adapters over the same base on the same server (more checkpoints of one run). */
  extra_adapters?: Array<{ name: string; path: string; rank: number }>;
  /** The folder holding the tokenizer when model_path has none (a Trainer checkpoint without tokenizer files). */
  tokenizer_path?: string;
  model_name: string;
  config: DeployConfig;
}

export interface PreparedModel extends PrepareInput {
  gguf_path?: string;
  quantization?: Quantization;
  /** Whether the GGUF came from the conversion cache. */
  cached?: boolean;
  /** A LoRA adapter on a GGUF backend: served as a llama.cpp LoRA GGUF over gguf_path (the base), or merged. */
  adapter_mode?: 'adapter' | 'merged';
  adapter_gguf_path?: string;
  adapter_mode_reason?: string;
}

/** Where and how the supervisor will run the server. */
export interface LaunchTarget {
  host: string;
  port: number;
  /** GPUs chosen for it ("0,1"), passed as CUDA_VISIBLE_DEVICES. */
  gpus?: string;
}

/** A child process to spawn. `env` holds only the backend's additions; the supervisor builds the rest. */
export interface LaunchPlan {
  command: string;
  args: string[];
  env?: Record<string, string>;
  cwd?: string;
  /** How long start-up may take before it is a failure. */
  startupDeadlineMs: number;
}

/** Lets long work report stages, progress and log lines, and be cancelled. */
export interface StageContext {
  signal: AbortSignal;
  stage(stage: Progress['stage'], state: 'started' | 'done' | 'skipped'): void;
  progress(progress: Progress): void;
  log(line: string, stream?: 'stdout' | 'stderr' | 'berth'): void;
}
