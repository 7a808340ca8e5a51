import { isAbsolute } from 'node:path';
import type { Checkpoint } from '../../../shared/checkpoints.js';
import type { CompareRequest, CompareResult } from '../../../shared/quality.js';
import type { SystemReport } from '../../../shared/system.js';
import type { Core } from '../app.js';
import type { DeployQuality } from '../deploy/quality-stage.js';
import { tokenizerFallback } from '../deploy/tokenizer.js';
import { BerthError } from '../errors.js';
import { usableGpus } from '../hardware/memory.js';
import { deployQualityDefault } from './deploy-default.js';
import { envDefaults } from './env.js';
import { ggufFit } from './fit.js';
import {
  type CompareRequest as CompareOptions,
  createQualityService,
  type QualityService,
} from './service.js';

// What both transports (HTTP routes and the window's IPC) ask of the quality service, in one place.

const services = new WeakMap<Core, QualityService>();
/** The quality service of a core (one per core, built on first use). */
export function qualityOf(core: Core): QualityService {
  let s = services.get(core);
  if (!s) {
    s = createQualityService({
      conversion: core.conversion,
      ggufCacheDir: core.paths.ggufCacheDir,
      ...(core.env.BERTH_QUALITY_GPU === 'cpu' ? { gpu: 'cpu' as const } : {}),
    });
    services.set(core, s);
  }
  return s;
}

/** What a compare run takes from the checkpoint and the machine: its tokenizer folder and each row's fit. */
export function checkpointCompareOptions(
  checkpoint: Checkpoint,
  system: SystemReport,
): Pick<CompareOptions, 'modelPath' | 'tokenizerDir' | 'fit'> {
  const shape = checkpoint.shape;
  const tokenizerDir = tokenizerFallback(checkpoint);
  const serveContext = Math.min(shape?.context_length ?? 4096, 4096);
  return {
    modelPath: checkpoint.path,
    ...(tokenizerDir ? { tokenizerDir } : {}),
    ...(shape ? { fit: (bytes: number) => ggufFit(bytes, shape, system, serveContext) } : {}),
  };
}

/**
 * A compare-quants request checked and resolved (job, checkpoint, machine) before any work, so a bad request
 * fails at once; the returned function does the work, with progress and cancellation.
 */
export async function prepareCompare(
  core: Core,
  body: CompareRequest,
): Promise<(signal: AbortSignal, progress: (p: unknown) => void) => Promise<CompareResult>> {
  if (!body.job_id && !body.model_path) throw new BerthError('INVALID_REQUEST', 'Give job_id or model_path');
  const text = body.text_path;
  if (text !== undefined && !isAbsolute(text))
    throw new BerthError('INVALID_REQUEST', `text_path must be an absolute path: ${text}`);
  const checkpoint = await core.jobs.resolve({
    ...(body.job_id ? { job_id: body.job_id } : {}),
    ...(body.model_path ? { model_path: body.model_path } : {}),
    ...(body.checkpoint_path ? { checkpoint_path: body.checkpoint_path } : {}),
  });
  const fromCheckpoint = checkpointCompareOptions(checkpoint, await core.system.report());
  const defaults = envDefaults(core.env);
  return (signal, progress) =>
    qualityOf(core).compare({
      ...fromCheckpoint,
      ...(body.types ? { types: body.types } : {}),
      ...(text ? { text } : {}),
      ...((body.context ?? defaults.context) ? { context: body.context ?? defaults.context } : {}),
      ...((body.windows ?? defaults.windows) ? { maxWindows: body.windows ?? defaults.windows } : {}),
      signal,
      onProgress: progress,
    });
}

export { envDefaults };

/**
 * What a deploy asks of the quality service: the default for a checkpoint, and a measurement of exactly the
 * GGUF it is about to serve against the checkpoint's F16 (converted once, then cached like every GGUF). Window
 * and text defaults come from the environment (envDefaults); the window is at most the model's own context.
 */
export function deployQuality(core: Core): DeployQuality {
  return {
    defaultFor: (checkpoint) =>
      deployQualityDefault(checkpoint, usableGpus(core.system.peek()?.gpus ?? []).length > 0, core.env),
    async measure(r) {
      const defaults = envDefaults(core.env);
      const f16 = await core.conversion.convert({
        modelPath: r.modelPath,
        quantization: 'F16',
        ...(r.tokenizerDir ? { tokenizerDir: r.tokenizerDir } : {}),
        signal: r.signal,
        onProgress: (p) =>
          r.onProgress({
            quantization: 'F16',
            phase: 'convert',
            stage: p.stage,
            done: p.done,
            total: p.total,
            ...(p.eta_s !== undefined ? { eta_s: p.eta_s } : {}),
          }),
        onLog: (line) => r.onLog(line),
      });
      const context = Math.min(defaults.context ?? 512, r.modelContext ?? 512);
      return qualityOf(core).measure({
        target: r.ggufPath,
        against: f16.ggufPath,
        context,
        ...(defaults.windows ? { maxWindows: defaults.windows } : {}),
        ...(defaults.text ? { text: defaults.text } : {}),
        signal: r.signal,
        onProgress: r.onProgress,
        onLog: r.onLog,
      });
    },
  };
}
