import { basename } from 'node:path';
import type { Checkpoint } from '../../../shared/checkpoints.js';
import {
  type DeployConfig,
  type DeployRequest,
  DeployRequestSchema,
  type DeployResponse,
  type ParsedDeployRequest,
  type Quantization,
  type ServerType,
} from '../../../shared/deploy.js';
import type { DeploymentInfo } from '../../../shared/deployments.js';
import type { ServerInfo } from '../../../shared/servers.js';
import type { Settings } from '../../../shared/settings.js';
import { parseOrThrow } from '../api/route.js';
import { type AdapterFacts, checkAdapterBase, resolveBaseFolder } from '../checkpoints/adapter-base.js';
import { BerthError, toErrorShape } from '../errors.js';
import type { EventBus } from '../events.js';
import type { Backend, PreparedModel, StageContext } from '../servers/backend.js';
import { defaultModelName, modelId } from './naming.js';
import { type DeployQuality, qualityStage } from './quality-stage.js';
import { tokenizerFallback } from './tokenizer.js';
import { DeploymentTracker } from './tracker.js';

/** What `server_type: "auto"` takes from the recommendation. */
export interface AutoChoice {
  server_type: ServerType;
  quantization?: Quantization;
  context_length?: number;
  gpu_memory_utilization?: number;
  max_model_len?: number;
  tensor_parallel_size?: number;
  reason: string;
}

/** Everything deploy() needs, injected by the composition root (and by tests). */
export interface DeployDeps {
  bus: EventBus;
  now: () => number;
  settings: () => Settings;
  resolveCheckpoint(ref: { job_id?: string; model_path?: string; checkpoint_path?: string }): Promise<{
    checkpoint: Checkpoint;
    jobName?: string;
    basePath?: string;
  }>;
  recommend?(checkpoint: Checkpoint, config: DeployConfig): Promise<AutoChoice>;
  backends: Partial<Record<ServerType, Backend>>;
  quality?: DeployQuality;
  servers: {
    list(): ServerInfo[];
    start(spec: {
      name: string;
      backend: Backend;
      model: PreparedModel;
      port?: number;
      auto_restart?: boolean;
      job_id?: string;
      checkpoint_path?: string;
      model_id?: string;
      signal?: AbortSignal;
      ctx?: StageContext;
    }): Promise<ServerInfo>;
  };
}

const LIVE = new Set(['starting', 'running', 'stopping']);

/**
 * The deploy API: one function behind IPC, HTTP and the CLI. It validates, resolves the checkpoint, routes
 * once on server_type, and reports every stage as events. vLLM serves the HF folder (never the converter);
 * Ollama and the built-in engine get a GGUF from their backend's prepare step (converter or cache).
 */
export class DeployService {
  private readonly deployments = new Map<string, DeploymentTracker>();

  constructor(private readonly deps: DeployDeps) {}

  /** Starts a deployment; its `done` promise settles when the server runs or the deployment fails. */
  start(request: DeployRequest | unknown): DeploymentTracker {
    const parsed = parseOrThrow(DeployRequestSchema, request, 'body');
    const tracker = new DeploymentTracker(this.deps.bus, parsed.server_type, this.deps.now, parsed);
    this.deployments.set(tracker.id, tracker);
    this.prune();
    void this.run(parsed, tracker);
    return tracker;
  }

  /** Deploys and resolves when running (the design document's synchronous behaviour). */
  async deploy(request: DeployRequest | unknown): Promise<DeployResponse> {
    return this.start(request).done;
  }

  get(id: string): DeploymentTracker {
    const tracker = this.deployments.get(id);
    if (!tracker)
      throw new BerthError(
        'DEPLOYMENT_NOT_FOUND',
        `No deployment ${id}`,
        'List them with GET /api/deployments.',
      );
    return tracker;
  }

  list(): DeploymentInfo[] {
    return [...this.deployments.values()].map((t) => t.info);
  }

  /** Cancels a deployment in progress: stops the converter or the starting server and cleans up. */
  async cancel(id: string): Promise<DeploymentInfo> {
    const tracker = this.get(id);
    if (tracker.finished) return tracker.info;
    tracker.log('Cancel requested');
    tracker.controller.abort(new BerthError('CANCELLED', 'Deployment cancelled'));
    await tracker.done.catch(() => undefined);
    return tracker.info;
  }

  /**
   * Skips the quality measurement of a deployment in progress (stops its evaluator or its F16 conversion); the
   * deployment goes on and starts the server. Only while the quality stage runs.
   */
  skipQuality(id: string): DeploymentInfo {
    const tracker = this.get(id);
    if (tracker.finished || tracker.info.stages.quality !== 'started' || !tracker.qualityController) {
      throw new BerthError(
        'INVALID_REQUEST',
        `Deployment ${id} is not measuring quality (quality stage: ${tracker.info.stages.quality})`,
        'Only a measurement in progress can be skipped.',
      );
    }
    tracker.log('Skip of the quality measurement requested');
    tracker.qualityController.abort(new BerthError('CANCELLED', 'Quality measurement skipped'));
    return tracker.info;
  }

  /** Cancels everything in flight (core shutdown). */
  async cancelAll(): Promise<void> {
    await Promise.all(
      [...this.deployments.values()].filter((t) => !t.finished).map((t) => this.cancel(t.id)),
    );
  }

  private async run(request: ParsedDeployRequest, tracker: DeploymentTracker): Promise<void> {
    const signal = tracker.controller.signal;
    const ctx: StageContext = {
      signal,
      stage: (stage, state) => tracker.stage(stage, state),
      progress: (p) => tracker.progress(p),
      log: (line, stream) => tracker.log(line, stream),
    };
    try {
      tracker.running();
      tracker.stage('inspect', 'started');
      const resolved = await this.deps.resolveCheckpoint({
        ...(request.job_id ? { job_id: request.job_id } : {}),
        ...(request.model_path ? { model_path: request.model_path } : {}),
        ...(request.checkpoint_path ? { checkpoint_path: request.checkpoint_path } : {}),
      });
      const checkpoint = resolved.checkpoint;
      throwIfAborted(signal);
      let config = request.config;
      let serverType: ServerType;
      if (request.server_type === 'auto') {
        if (!this.deps.recommend) {
          throw new BerthError(
            'BACKEND_NOT_INSTALLED',
            'No recommendation available for server_type "auto"',
            'Pick vllm, ollama or llamacpp.',
          );
        }
        const choice = await this.deps.recommend(checkpoint, config);
        serverType = choice.server_type;
        config = mergeAuto(config, choice);
        tracker.log(
          `auto: ${choice.server_type}${choice.quantization ? ` ${choice.quantization}` : ''} — ${choice.reason}`,
        );
      } else {
        serverType = request.server_type;
      }
      checkDeployable(checkpoint, serverType);
      let basePath: string | undefined;
      let adapter: AdapterFacts | undefined;
      const extraAdapters: Array<{ name: string; path: string; rank: number }> = [];
      if (checkpoint.kind === 'lora-adapter') {
        // The base: the request's base_model_path, else what base_model_name_or_path led to (a folder, or the
        // hub id in the local Hugging Face cache). Checked against the adapter before any conversion starts.
        basePath = resolveBaseFolder(
          checkpoint.lora?.base_model ?? 'unknown',
          resolved.basePath,
          request.base_model_path,
        );
        adapter = await checkAdapterBase(checkpoint.path, basePath, serverType !== 'vllm');
        for (const extra of request.checkpoint_paths ?? []) {
          if (serverType !== 'vllm') {
            throw new BerthError(
              'INVALID_REQUEST',
              'Several checkpoints on one server is a vLLM feature (one --lora-modules entry each)',
              'Deploy them one by one to ollama or llamacpp: each adapter GGUF shares the cached base GGUF.',
            );
          }
          const more = await this.deps.resolveCheckpoint({
            ...(request.job_id ? { job_id: request.job_id } : {}),
            ...(request.model_path ? { model_path: request.model_path } : {}),
            checkpoint_path: extra,
          });
          if (more.checkpoint.kind !== 'lora-adapter') {
            throw new BerthError(
              'INVALID_REQUEST',
              `${extra} is not a LoRA adapter; only adapters of one base share a vLLM server`,
            );
          }
          const facts = await checkAdapterBase(more.checkpoint.path, basePath, false);
          extraAdapters.push({
            name: `${request.name ?? defaultModelName(resolved.jobName, checkpoint.path, checkpoint.relative_path)}-${basename(more.checkpoint.path)}`,
            path: more.checkpoint.path,
            rank: facts.rank,
          });
        }
        tracker.log(
          `LoRA adapter rank ${adapter.rank}, alpha ${adapter.alpha}${adapter.rslora ? ' (rsLoRA)' : ''}: ${adapter.adapted.length} modules${adapter.modules_to_save.length ? ` + ${adapter.modules_to_save.join(', ')}` : ''} over ${basePath} (${adapter.base.architecture})`,
        );
      }
      const name =
        request.name ?? defaultModelName(resolved.jobName, checkpoint.path, checkpoint.relative_path);
      tracker.setTarget(serverType, name, checkpoint.path);
      const clash = this.deps.servers.list().find((s) => s.name === name && LIVE.has(s.status));
      if (clash) {
        throw new BerthError(
          'NAME_CONFLICT',
          `A server named "${name}" is already ${clash.status}`,
          'Choose another name, or stop that server first.',
        );
      }
      const backend = this.deps.backends[serverType];
      if (!backend)
        throw new BerthError('BACKEND_NOT_INSTALLED', `Backend ${serverType} is not available in this build`);
      const status = await backend.detect(signal);
      if (!status.installed) {
        throw new BerthError(
          'BACKEND_NOT_INSTALLED',
          `${serverType} is not installed${status.detail ? `: ${status.detail}` : ''}`,
          status.install_hint ?? 'Install it, or deploy with server_type "llamacpp" (built in).',
        );
      }
      tracker.log(`${checkpoint.path} -> ${serverType} as "${name}"`);
      tracker.stage('inspect', 'done');

      const tokenizerPath = tokenizerFallback(checkpoint);
      if (tokenizerPath)
        tracker.log(`${checkpoint.relative_path} has no tokenizer files: using ${tokenizerPath}`);
      const prepared = await backend.prepare(
        {
          model_path: checkpoint.path,
          ...(tokenizerPath ? { tokenizer_path: tokenizerPath } : {}),
          ...(basePath ? { base_model_path: basePath, adapter_path: checkpoint.path } : {}),
          ...(adapter ? { adapter } : {}),
          ...(extraAdapters.length ? { extra_adapters: extraAdapters } : {}),
          model_name: name,
          config,
        },
        ctx,
      );
      throwIfAborted(signal);
      tracker.skipPending(['convert', 'quantize']);
      // Before the server starts, not beside it: the evaluator holds the F16 and the quantized model at once,
      // and beside a running server that is three copies competing for the same memory and cores (on a GPU it
      // could push the server off it). Its outcome never fails the deployment; a cancel of the deploy stops it.
      const quality = await qualityStage(this.deps.quality, {
        asked: request.measure_quality,
        checkpoint,
        serverType,
        prepared,
        tokenizerDir: tokenizerPath,
        tracker,
        signal,
      });
      throwIfAborted(signal);
      tracker.stage('start', 'started');

      const format = prepared.gguf_path
        ? `gguf:${prepared.quantization ?? 'F16'}${prepared.adapter_mode ? `:${prepared.adapter_mode}` : ''}`
        : 'hf';
      const server = await this.deps.servers.start({
        name,
        backend,
        model: prepared,
        ...(config.port ? { port: config.port } : {}),
        auto_restart: config.auto_restart ?? this.deps.settings().auto_restart,
        ...(request.job_id ? { job_id: request.job_id } : {}),
        ...(request.checkpoint_path ? { checkpoint_path: request.checkpoint_path } : {}),
        model_id: modelId(checkpoint.path, format),
        signal,
        ctx,
      });
      tracker.stage('start', 'done');
      tracker.skipPending(['import']);
      tracker.stage('healthy', 'done');
      tracker.succeed({
        success: true,
        server_id: server.id,
        status: 'running',
        base_url: server.base_url,
        port: server.port,
        model_id: server.model_id,
        model_name: server.model_name,
        deployment_id: tracker.id,
        openai_base_url: server.openai_base_url,
        server_type: server.server_type,
        ...(prepared.quantization ? { quantization: prepared.quantization } : {}),
        ...(prepared.gguf_path ? { gguf_path: prepared.gguf_path } : {}),
        ...(prepared.adapter_mode ? { adapter_mode: prepared.adapter_mode } : {}),
        ...(prepared.adapter_gguf_path ? { adapter_gguf_path: prepared.adapter_gguf_path } : {}),
        ...(prepared.adapter_mode_reason ? { adapter_mode_reason: prepared.adapter_mode_reason } : {}),
        quality,
      });
    } catch (error) {
      const cancelled = signal.aborted;
      const shape = cancelled
        ? { code: 'CANCELLED', message: 'Deployment cancelled', hint: 'Nothing was left running.' }
        : toErrorShape(error);
      tracker.log(`${shape.code}: ${shape.message}`, 'berth');
      tracker.fail(shape, cancelled);
    }
  }

  /** Keeps the last 100 finished deployments. */
  private prune(): void {
    const finished = [...this.deployments.values()].filter((t) => t.finished);
    for (const t of finished.slice(0, Math.max(0, finished.length - 100))) this.deployments.delete(t.id);
  }
}

function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw new BerthError('CANCELLED', 'Deployment cancelled');
}

function mergeAuto(config: DeployConfig, choice: AutoChoice): DeployConfig {
  // What the user asked for explicitly wins over the recommendation.
  return {
    ...(choice.quantization ? { quantization: choice.quantization } : {}),
    ...(choice.context_length ? { context_length: choice.context_length } : {}),
    ...(choice.gpu_memory_utilization ? { gpu_memory_utilization: choice.gpu_memory_utilization } : {}),
    ...(choice.max_model_len ? { max_model_len: choice.max_model_len } : {}),
    ...(choice.tensor_parallel_size ? { tensor_parallel_size: choice.tensor_parallel_size } : {}),
    ...config,
  };
}

/** Refuses what a backend cannot serve, with the reason the inspection gave. */
function checkDeployable(checkpoint: Checkpoint, serverType: ServerType): void {
  // An adapter's missing base is resolved (or reported with how to give it) by the deploy itself.
  const first = checkpoint.errors.find(
    (e) => !(checkpoint.kind === 'lora-adapter' && e.code === 'ADAPTER_BASE_MISSING'),
  );
  if (first) throw new BerthError('INVALID_CHECKPOINT', first.message, first.hint);
  if (serverType === 'vllm') {
    if (checkpoint.kind === 'gguf') {
      throw new BerthError(
        'UNSUPPORTED_MODEL',
        'vLLM serves Hugging Face folders, not GGUF files',
        'Deploy a GGUF with ollama or llamacpp.',
      );
    }
    const verdict = checkpoint.vllm_servable;
    // An adapter's base is resolved by the deploy (the request may name it), not by the inspection's verdict.
    if (
      verdict &&
      !verdict.ok &&
      !(checkpoint.kind === 'lora-adapter' && verdict.code === 'ADAPTER_BASE_MISSING')
    ) {
      throw new BerthError(
        'UNSUPPORTED_MODEL',
        `vLLM cannot serve this model: ${verdict.reason ?? 'unsupported'}`,
        'Try ollama or llamacpp.',
      );
    }
    return;
  }
  if (checkpoint.kind === 'gguf') return;
  // An adapter whose base was not found has an error the deploy resolves itself (base_model_path).
  if (checkpoint.kind === 'lora-adapter' && checkpoint.gguf_convertible?.code === 'INVALID_CHECKPOINT')
    return;
  if (checkpoint.gguf_convertible && !checkpoint.gguf_convertible.ok) {
    throw new BerthError(
      'UNSUPPORTED_MODEL',
      `This model cannot be converted to GGUF: ${checkpoint.gguf_convertible.reason ?? 'unsupported'}`,
      'Deploy it with vllm, which serves the Hugging Face folder directly.',
    );
  }
}
