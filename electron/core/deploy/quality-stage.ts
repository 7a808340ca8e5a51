// The deploy flow's quality stage: after conversion, before the server starts, the GGUF about to be served is
// measured against the checkpoint's F16 (core.quality), when asked or by default for a small model.
import type { Checkpoint } from '../../../shared/checkpoints.js';
import type { DeployResponse, ServerType } from '../../../shared/deploy.js';
import {
  type QualityDefault,
  type QualityJobProgress,
  type QualityReport,
  qualityVerdict,
} from '../../../shared/quality.js';
import { toErrorShape } from '../errors.js';
import { LORA_QUALITY_REASON } from '../quality/deploy-default.js';
import type { PreparedModel } from '../servers/backend.js';
import type { DeploymentTracker } from './tracker.js';

/** The deploy-time quality measurement (core.quality through the composition root). */
export interface DeployQuality {
  /** Whether to measure when the request leaves measure_quality out, and why (shared/quality.ts's rule). */
  defaultFor(checkpoint: Checkpoint): QualityDefault;
  /** Measures the served GGUF against the checkpoint's F16 (converted or cached); reuses a kept report. */
  measure(request: {
    modelPath: string;
    ggufPath: string;
    tokenizerDir?: string;
    /** The model's training context: the window is at most this. */
    modelContext?: number;
    signal: AbortSignal;
    onProgress(p: QualityJobProgress): void;
    onLog(line: string): void;
  }): Promise<{ report: QualityReport; cached: boolean }>;
}

type QualityOutcome = NonNullable<DeployResponse['quality']>;

/**
 * The quality stage: measures the served GGUF against its F16 when asked (or by default for a small model).
 * Skipped with its reason where it does not apply; a failure is kept on the stage (code, message, hint) and
 * the deployment goes on. Only the deployment's own cancel propagates (as CANCELLED).
 */
export async function qualityStage(
  service: DeployQuality | undefined,
  o: {
    /** The request's measure_quality (undefined: the default for this model). */
    asked: boolean | undefined;
    checkpoint: Checkpoint;
    serverType: ServerType;
    prepared: PreparedModel;
    tokenizerDir: string | undefined;
    tracker: DeploymentTracker;
    signal: AbortSignal;
  },
): Promise<QualityOutcome> {
  const { asked, checkpoint, serverType, prepared, tokenizerDir, tracker, signal } = o;
  const skip = (reason: string): QualityOutcome => {
    tracker.stage('quality', 'skipped', { detail: reason });
    if (asked) tracker.log(`quality: not measured: ${reason}`);
    return { state: 'skipped', reason };
  };
  if (serverType === 'vllm') return skip('vLLM serves the Hugging Face folder: there is no GGUF to measure');
  if (checkpoint.kind === 'gguf')
    return skip('a GGUF file has no F16 here to compare with: use berth quality <gguf> --against <f16.gguf>');
  if (checkpoint.kind === 'lora-adapter' || prepared.adapter_mode) return skip(LORA_QUALITY_REASON);
  const q = prepared.quantization ?? 'F16';
  if (!prepared.gguf_path || q === 'F16' || q === 'BF16')
    return skip(`${q} is full precision: it is the reference itself`);
  if (!service) return skip('quality measurement is not available in this build');
  if (asked === false) return skip('not requested (measure_quality: false)');
  let reason = 'requested';
  if (asked === undefined) {
    const d = service.defaultFor(checkpoint);
    if (!d.measure) return skip(d.reason);
    reason = `on by default: ${d.reason}`;
  }

  tracker.stage('quality', 'started');
  tracker.log(`quality: measuring ${q} against F16 (${reason})`);
  // Its own controller: a skip stops the measurement alone; the deployment's cancel stops it too.
  const own = new AbortController();
  tracker.qualityController = own;
  const measureSignal = AbortSignal.any([signal, own.signal]);
  try {
    const { report, cached } = await service.measure({
      modelPath: checkpoint.path,
      ggufPath: prepared.gguf_path,
      ...(tokenizerDir ? { tokenizerDir } : {}),
      ...(checkpoint.shape ? { modelContext: checkpoint.shape.context_length } : {}),
      signal: measureSignal,
      onLog: (line) => tracker.log(line, 'stderr'),
      onProgress: (p) =>
        tracker.progress({
          stage: 'quality',
          done: p.done,
          total: p.total,
          unit: p.phase === 'measure' && p.stage === 'evaluating' ? 'tokens' : 'steps',
          detail:
            p.phase === 'convert'
              ? `converting the F16 reference (${p.stage})`
              : `${p.quantization} against F16: ${p.stage}`,
          ...(p.eta_s !== undefined ? { eta_s: p.eta_s } : {}),
        }),
    });
    const verdict = `${qualityVerdict(report)}${cached ? ' (kept report of this file)' : ''}`;
    tracker.log(`quality: ${verdict}`);
    tracker.stage('quality', 'done', { detail: verdict });
    return { state: cached ? 'cached' : 'measured', reason, report };
  } catch (error) {
    if (signal.aborted) throw error;
    if (own.signal.aborted) {
      const skipped = {
        code: 'CANCELLED',
        message: 'Quality measurement skipped',
        hint: 'Measure it later: checkpoint details > Compare quantizations, or berth quality.',
      };
      tracker.log('quality: skipped; the server starts without a report', 'berth');
      tracker.stage('quality', 'skipped', { detail: 'skipped while measuring', error: skipped });
      return { state: 'skipped', reason: 'skipped while measuring', error: skipped };
    }
    const shape = toErrorShape(error);
    tracker.log(`quality: ${shape.code}: ${shape.message} (the server starts anyway)`, 'berth');
    tracker.stage('quality', 'failed', { detail: shape.message, error: shape });
    return { state: 'failed', reason, error: shape };
  } finally {
    tracker.qualityController = undefined;
  }
}
