// `core.quality`: quality reports for GGUFs (measured once per file and kept in the GGUF cache entry) and
// compare-quants (one checkpoint converted to several types, each measured against its F16).
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Quantization } from '../../../shared/deploy.js';
import type {
  CompareResult,
  CompareRow,
  QualityJobProgress,
  QualityReport,
} from '../../../shared/quality.js';
import type { Fit } from '../../../shared/system.js';
import { ConversionCache } from '../conversion/cache.js';
import type { ConversionService } from '../conversion/service.js';
import { BerthError } from '../errors.js';
import { DEFAULT_CONTEXT, type EvaluatorCommand, measureQuality, measureSpeed } from './run.js';
import { loadEvalText } from './text.js';

export const DEFAULT_COMPARE_TYPES: Quantization[] = ['F16', 'Q8_0', 'Q5_K_M', 'Q4_K_M'];

export interface QualityDeps {
  conversion: ConversionService;
  ggufCacheDir: string;
  command?: EvaluatorCommand;
  gpu?: 'auto' | 'cpu';
  threads?: number;
}

interface Common {
  /** Evaluation text (.txt / .jsonl); the default text when unset. */
  text?: string;
  context?: number;
  maxWindows?: number;
  tokenizerDir?: string;
  /** Measure again even when the cache entry has a report for the same text, context and reference. */
  force?: boolean;
  signal?: AbortSignal;
  onProgress?: (p: QualityJobProgress) => void;
  onLog?: (line: string) => void;
}

export interface QualityRequest extends Common {
  /** A GGUF file or a Hugging Face model folder. */
  target: string;
  /** The F16 GGUF to compare with (a GGUF target from the cache finds its own). */
  against?: string;
  /** For a model folder: which type to measure (default Q4_K_M). */
  quantization?: Quantization;
}

export interface CompareRequest extends Common {
  modelPath: string;
  types?: Quantization[];
  /** Whether each row fits on this machine, from the memory model (the caller has the system report). */
  fit?: (bytes: number) => { fit: Fit; detail: string } | undefined;
  /** Greedy tokens to time per row (0: skip). */
  speedTokens?: number;
}

export interface QualityService {
  measure(request: QualityRequest): Promise<{ report: QualityReport; cached: boolean }>;
  compare(request: CompareRequest): Promise<CompareResult>;
  /** Every report kept for GGUFs converted from `modelPath`, newest first. */
  reportsFor(modelPath: string): QualityReport[];
}

function isFile(p: string): boolean {
  return existsSync(p) && statSync(p).isFile();
}

export function createQualityService(deps: QualityDeps): QualityService {
  const cache = new ConversionCache(deps.ggufCacheDir);

  /**
   * The kept report for the same text, context and reference. A full report answers any request it covers (a
   * capped request with at least its windows); a capped report (max_windows) answers only the same cap.
   */
  function cachedReport(model: string, reference: string, sha: string, context: number, cap?: number) {
    return cache
      .byPath(model)
      ?.quality?.find(
        (r) =>
          r.text.sha256 === sha &&
          r.context === context &&
          r.reference_path === reference &&
          (cap === undefined
            ? r.max_windows === undefined
            : r.max_windows === cap || (r.max_windows === undefined && r.windows <= cap)),
      );
  }

  async function measureFiles(
    model: string,
    reference: string,
    quantization: string,
    c: Common,
    speedTokens = 0,
  ): Promise<{ report: QualityReport; cached: boolean }> {
    const text = loadEvalText(c.text);
    const context = c.context ?? DEFAULT_CONTEXT;
    const hit = c.force ? undefined : cachedReport(model, reference, text.info.sha256, context, c.maxWindows);
    if (hit && (!speedTokens || hit.tokens_per_second)) return { report: hit, cached: true };
    const measured = await measureQuality({
      model,
      reference,
      text,
      context,
      ...(c.maxWindows ? { maxWindows: c.maxWindows } : {}),
      ...(deps.threads ? { threads: deps.threads } : {}),
      gpu: deps.gpu ?? 'auto',
      ...(c.signal ? { signal: c.signal } : {}),
      ...(c.onLog ? { onLog: c.onLog } : {}),
      ...(deps.command ? { command: deps.command } : {}),
      ...(speedTokens ? { extra: { speed_tokens: speedTokens } } : {}),
      onProgress: (p) =>
        c.onProgress?.({
          quantization,
          phase: 'measure',
          stage: p.stage,
          done: p.done,
          total: p.total,
          ...(p.eta_s !== undefined ? { eta_s: p.eta_s } : {}),
        }),
    });
    const report: QualityReport = c.maxWindows ? { ...measured, max_windows: c.maxWindows } : measured;
    // Kept in the cache entry; a capped report never replaces a full one of the same text and context.
    const entry = cache.byPath(model);
    const full = c.maxWindows ? cachedReport(model, reference, text.info.sha256, context) : undefined;
    if (entry && !full) cache.addQuality(entry.id, report);
    return { report, cached: false };
  }

  async function convert(modelPath: string, q: Quantization, c: Common) {
    return deps.conversion.convert({
      modelPath,
      quantization: q,
      ...(c.tokenizerDir ? { tokenizerDir: c.tokenizerDir } : {}),
      ...(c.signal ? { signal: c.signal } : {}),
      onProgress: (p) =>
        c.onProgress?.({
          quantization: q,
          phase: 'convert',
          stage: p.stage,
          done: p.done,
          total: p.total,
          ...(p.eta_s !== undefined ? { eta_s: p.eta_s } : {}),
        }),
      ...(c.onLog ? { onLog: (line: string) => c.onLog?.(line) } : {}),
    });
  }

  /** The F16 GGUF of the same checkpoint as a cached GGUF, if it is in the cache too. */
  function cachedReference(gguf: string): string | undefined {
    const entry = cache.byPath(gguf);
    if (!entry) return undefined;
    return cache
      .list()
      .find(
        (e) =>
          e.model_path === entry.model_path &&
          e.quantization === 'F16' &&
          e.converter_version === entry.converter_version,
      )?.gguf_path;
  }

  return {
    async measure(r) {
      const target = resolve(r.target);
      if (isFile(target)) {
        const reference = r.against ? resolve(r.against) : cachedReference(target);
        if (!reference) {
          throw new BerthError(
            'REFERENCE_REQUIRED',
            `No F16 reference for ${target}`,
            'Give the F16 GGUF of the same checkpoint with --against (API: against), or measure the model folder.',
          );
        }
        if (!isFile(reference)) throw new BerthError('MODEL_NOT_FOUND', `No GGUF file at ${reference}`);
        return measureFiles(target, reference, cache.byPath(target)?.quantization ?? 'GGUF', r);
      }
      const q = r.quantization ?? 'Q4_K_M';
      const reference = r.against ? resolve(r.against) : (await convert(target, 'F16', r)).ggufPath;
      const model = (await convert(target, q, r)).ggufPath;
      return measureFiles(model, reference, q, r);
    },

    async compare(r) {
      const types = r.types?.length ? r.types : DEFAULT_COMPARE_TYPES;
      const modelPath = resolve(r.modelPath);
      const text = loadEvalText(r.text); // bad text fails before any conversion
      const f16 = await convert(modelPath, 'F16', r);
      const rows: CompareRow[] = [];
      for (const q of types) {
        if (r.signal?.aborted) throw new BerthError('CANCELLED', 'compare-quants was cancelled');
        const gguf = q === 'F16' ? f16 : await convert(modelPath, q, r);
        const fit = r.fit?.(gguf.bytes);
        const row: CompareRow = {
          quantization: q,
          gguf_path: gguf.ggufPath,
          bytes: gguf.bytes,
          reference: q === 'F16',
          ...(fit ? { fit: fit.fit, fit_detail: fit.detail } : {}),
        };
        const speedTokens = r.speedTokens ?? 32;
        if (q === 'F16') {
          if (speedTokens) {
            const tps = await measureSpeed({
              model: gguf.ggufPath,
              text,
              tokens: speedTokens,
              gpu: deps.gpu ?? 'auto',
              ...(deps.threads ? { threads: deps.threads } : {}),
              ...(deps.command ? { command: deps.command } : {}),
              ...(r.signal ? { signal: r.signal } : {}),
            });
            if (tps) row.tokens_per_second = tps;
          }
        } else {
          const { report } = await measureFiles(gguf.ggufPath, f16.ggufPath, q, r, speedTokens);
          row.report = report;
          if (report.tokens_per_second) row.tokens_per_second = report.tokens_per_second;
        }
        rows.push(row);
      }
      return { model_path: modelPath, rows, text: text.info };
    },

    reportsFor(modelPath) {
      const path = resolve(modelPath);
      return cache
        .list()
        .filter((e) => e.model_path === path)
        .flatMap((e) => e.quality ?? [])
        .sort((a, b) => b.created_at.localeCompare(a.created_at));
    },
  };
}
