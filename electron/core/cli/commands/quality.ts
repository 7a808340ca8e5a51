import { resolve } from 'node:path';
import { type Quantization, QuantizationSchema } from '../../../../shared/deploy.js';
import {
  type CompareResult,
  type QualityJobProgress,
  type QualityReport,
  qualityReading,
  qualityVerdict,
} from '../../../../shared/quality.js';
import { JobRegistry } from '../../checkpoints/registry.js';
import { systemClock } from '../../clock.js';
import { createConversionService } from '../../conversion/service.js';
import { BerthError, toErrorShape } from '../../errors.js';
import { EventBus } from '../../events.js';
import { berthPaths, resolveHome } from '../../paths.js';
import { checkpointCompareOptions } from '../../quality/requests.js';
import { createQualityService } from '../../quality/service.js';
import { SettingsService } from '../../settings/settings.js';
import { createFileStore } from '../../settings/store.js';
import type { Command, ParsedArgs } from '../command.js';
import { type CliIo, formatBytes, printError } from '../output.js';
import { detectForCli, table } from './system.js';

function setup(env: NodeJS.ProcessEnv) {
  const paths = berthPaths(resolveHome(env));
  const settings = new SettingsService(createFileStore(paths.settingsDir), new EventBus());
  const conversion = createConversionService({ paths, settings, clock: systemClock, env });
  const threads = env.BERTH_QUALITY_THREADS ? Number(env.BERTH_QUALITY_THREADS) : undefined;
  const gpu = env.BERTH_QUALITY_GPU === 'cpu' ? ('cpu' as const) : ('auto' as const);
  const quality = createQualityService({
    conversion,
    ggufCacheDir: paths.ggufCacheDir,
    gpu,
    ...(threads ? { threads } : {}),
  });
  return { paths, quality };
}

function intOption(value: unknown, name: string, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) {
    throw new BerthError(
      'INVALID_REQUEST',
      `${name} must be a whole number of at least ${min}, got ${String(value)}`,
    );
  }
  return n;
}

/** Progress: JSON lines with --json, one redrawn line on a terminal, nothing otherwise. */
function progressPrinter(io: CliIo, json: boolean): (p: QualityJobProgress) => void {
  return (p) => {
    if (json) io.out(`${JSON.stringify({ event: 'progress', ...p })}\n`);
    else if (io.isTty && p.total > 0) {
      const pct = Math.min(100, (p.done / p.total) * 100).toFixed(0);
      const eta = p.eta_s === undefined ? '' : ` eta ${Math.ceil(p.eta_s)}s`;
      io.err(`\r${p.quantization.padEnd(7)} ${p.phase} ${p.stage.padEnd(10)} ${pct.padStart(3)}%${eta}    `);
    }
  };
}

async function withCancel<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await work(abort.signal);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

export function formatReport(r: QualityReport): string {
  const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
  return [
    qualityVerdict(r),
    `  ${qualityReading(r)}`,
    `  KL divergence   mean ${r.kl_mean.toFixed(5)}  median ${r.kl_median.toFixed(5)}  p99 ${r.kl_p99.toFixed(5)}  max ${r.kl_max.toFixed(5)}`,
    `  top-1 agreement ${pct(r.top1_agreement)}`,
    `  perplexity      ${r.model_type} ${r.ppl_model.toFixed(3)}  ${r.reference_type} ${r.ppl_reference.toFixed(3)}  ratio ${r.ppl_ratio.toFixed(4)}`,
    `  ${r.tokens} tokens scored in ${r.windows} windows of ${r.context}, ${r.seconds.toFixed(1)} s, on ${r.gpu || 'CPU'}`,
    `  text: ${r.text.source === 'default' ? "Berth's default text" : r.text.path} (${r.text.format})`,
    `  model ${r.model_path}`,
    `  reference ${r.reference_path}`,
    '',
  ].join('\n');
}

const QUALITY_USAGE =
  'berth quality <model_path|file.gguf> [--against f16.gguf] [--text file.txt|file.jsonl] [--quantization Q4_K_M] [--context N] [--windows N] [--force] [--json]';

/** `berth quality`: a measured quality report of a GGUF against its F16 (in-process, no running Berth needed). */
export const qualityCommand: Command = {
  name: 'quality',
  summary: 'Measure what quantization cost: KL divergence, top-1 agreement and perplexity against F16',
  usage: QUALITY_USAGE,
  options: {
    against: { type: 'string' },
    text: { type: 'string' },
    quantization: { type: 'string' },
    context: { type: 'string' },
    windows: { type: 'string' },
    force: { type: 'boolean' },
  },
  async run(args: ParsedArgs, io, env) {
    const json = Boolean(args.values.json);
    const [target] = args.positionals;
    const q =
      args.values.quantization === undefined
        ? undefined
        : QuantizationSchema.safeParse(args.values.quantization);
    if (!target || args.positionals.length > 1 || (q && !q.success)) {
      io.err(`usage: ${QUALITY_USAGE}\n  --quantization one of ${QuantizationSchema.options.join(', ')}\n`);
      return 2;
    }
    try {
      const { quality } = setup(env);
      const context = intOption(args.values.context, '--context', 16);
      const windows = intOption(args.values.windows, '--windows', 1);
      const { report, cached } = await withCancel((signal) =>
        quality.measure({
          target: resolve(target),
          ...(args.values.against ? { against: resolve(String(args.values.against)) } : {}),
          ...(args.values.text ? { text: resolve(String(args.values.text)) } : {}),
          ...(q?.success ? { quantization: q.data } : {}),
          ...(context ? { context } : {}),
          ...(windows ? { maxWindows: windows } : {}),
          force: Boolean(args.values.force),
          signal,
          onProgress: progressPrinter(io, json),
        }),
      );
      if (!json && io.isTty) io.err('\n');
      if (json) io.out(`${JSON.stringify({ success: true, cached, report })}\n`);
      else io.out(`${cached ? '(measured before; --force measures again)\n' : ''}${formatReport(report)}`);
      return 0;
    } catch (error) {
      if (!json && io.isTty) io.err('\n');
      printError(io, toErrorShape(error), json);
      return 1;
    }
  },
};

export function formatCompare(c: CompareResult): string {
  const rows = c.rows.map((r) => [
    r.quantization,
    formatBytes(r.bytes),
    r.fit ? r.fit.replace(/_/g, ' ') : '?',
    r.tokens_per_second ? r.tokens_per_second.toFixed(1) : '-',
    r.reference ? 'reference' : (r.report?.kl_mean.toFixed(4) ?? '-'),
    r.report ? r.report.kl_p99.toFixed(4) : '-',
    r.report ? `${(r.report.top1_agreement * 100).toFixed(1)} %` : '-',
    r.report
      ? `${(r.report.ppl_ratio - 1) * 100 >= 0 ? '+' : ''}${((r.report.ppl_ratio - 1) * 100).toFixed(2)} %`
      : '-',
  ]);
  return `${[
    ...table(['type', 'size', 'fits', 'tokens/s', 'KL mean', 'KL p99', 'top-1', 'PPL'], rows),
    '',
    `text: ${c.text.source === 'default' ? "Berth's default text" : c.text.path}; KL and top-1 against F16`,
  ].join('\n')}\n`;
}

const COMPARE_USAGE =
  'berth compare-quants <model_path> [--types F16,Q8_0,Q5_K_M,Q4_K_M] [--text file] [--context N] [--windows N] [--json]';

/** `berth compare-quants`: one checkpoint in several types, a table of size, fit, speed and quality. */
export const compareQuantsCommand: Command = {
  name: 'compare-quants',
  summary: 'Convert a checkpoint to several GGUF types and compare size, fit, speed and measured quality',
  usage: COMPARE_USAGE,
  options: {
    types: { type: 'string' },
    text: { type: 'string' },
    context: { type: 'string' },
    windows: { type: 'string' },
  },
  async run(args, io, env) {
    const json = Boolean(args.values.json);
    const [modelPath] = args.positionals;
    const types = String(args.values.types ?? 'F16,Q8_0,Q5_K_M,Q4_K_M')
      .split(',')
      .map((t) => QuantizationSchema.safeParse(t.trim()));
    if (!modelPath || args.positionals.length > 1 || types.some((t) => !t.success)) {
      io.err(`usage: ${COMPARE_USAGE}\n  --types from ${QuantizationSchema.options.join(', ')}\n`);
      return 2;
    }
    try {
      const { paths, quality } = setup(env);
      const context = intOption(args.values.context, '--context', 16);
      const windows = intOption(args.values.windows, '--windows', 1);
      const jobs = new JobRegistry({
        file: paths.stateFile('jobs'),
        bus: new EventBus(),
        clock: systemClock,
        env,
        roots: () => [],
      });
      const [checkpoint, { report: system }] = await Promise.all([
        jobs.resolve({ model_path: resolve(modelPath) }),
        detectForCli(env),
      ]);
      const result = await withCancel((signal) =>
        quality.compare({
          ...checkpointCompareOptions(checkpoint, system),
          types: types.map((t) => t.data as Quantization),
          ...(args.values.text ? { text: resolve(String(args.values.text)) } : {}),
          ...(context ? { context } : {}),
          ...(windows ? { maxWindows: windows } : {}),
          signal,
          onProgress: progressPrinter(io, json),
        }),
      );
      if (!json && io.isTty) io.err('\n');
      io.out(json ? `${JSON.stringify({ success: true, ...result })}\n` : formatCompare(result));
      return 0;
    } catch (error) {
      if (!json && io.isTty) io.err('\n');
      printError(io, toErrorShape(error), json);
      return 1;
    }
  },
};
