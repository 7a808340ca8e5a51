import type { Recommendation } from '../../../../shared/system.js';
import { JobRegistry } from '../../checkpoints/registry.js';
import { systemClock } from '../../clock.js';
import { ConversionCache } from '../../conversion/cache.js';
import { BerthError } from '../../errors.js';
import { EventBus } from '../../events.js';
import { recommendDeployment } from '../../hardware/recommend.js';
import { berthPaths, resolveHome } from '../../paths.js';
import { withQualityNotes } from '../../quality/recommend-note.js';
import type { Command } from '../command.js';
import { formatBytes } from '../output.js';
import { detectForCli, table } from './system.js';

/** `berth recommend <path>`: what fits where for a model folder on this machine (in-process). */
export const recommendCommand: Command = {
  name: 'recommend',
  summary: 'Say which backend and type fit a model on this machine, with the memory arithmetic',
  usage: 'berth recommend <path> [--checkpoint <relative path>] [--context N] [--parallel N] [--json]',
  options: { checkpoint: { type: 'string' }, context: { type: 'string' }, parallel: { type: 'string' } },
  async run(args, io, env) {
    const path = args.positionals[0];
    if (!path || args.positionals.length > 1) {
      io.err(`usage: ${this.usage}\n`);
      return 2;
    }
    const context = intOption(args.values.context, '--context', 128);
    const parallel = intOption(args.values.parallel, '--parallel', 1);
    const paths = berthPaths(resolveHome(env));
    const jobs = new JobRegistry({
      file: paths.stateFile('jobs'),
      bus: new EventBus(),
      clock: systemClock,
      env,
      roots: () => [],
    });
    const checkpointPath = args.values.checkpoint as string | undefined;
    const [checkpoint, { report }] = await Promise.all([
      jobs.resolve({ model_path: path, ...(checkpointPath ? { checkpoint_path: checkpointPath } : {}) }),
      detectForCli(env),
    ]);
    if (!checkpoint.shape)
      throw new BerthError(
        'UNSUPPORTED_MODEL',
        `No model shape for ${checkpoint.path}`,
        'Pick a folder with a config.json.',
      );
    const measured = new ConversionCache(paths.ggufCacheDir)
      .list()
      .filter((e) => e.model_path === checkpoint.path)
      .flatMap((e) => e.quality ?? []);
    const estimate = recommendDeployment(
      report,
      {
        shape: checkpoint.shape,
        ...(checkpoint.parameters ? { parameters: checkpoint.parameters } : {}),
        ...(checkpoint.active_parameters ? { active_parameters: checkpoint.active_parameters } : {}),
        dtypes: checkpoint.dtypes,
        ...(checkpoint.tokenizer?.kind ? { tokenizer: { kind: checkpoint.tokenizer.kind } } : {}),
        path: checkpoint.path,
      },
      { ...(context ? { context_length: context } : {}), ...(parallel ? { parallel } : {}) },
    );
    const rec = withQualityNotes(estimate, measured);
    io.out(args.values.json ? `${JSON.stringify(rec, null, 2)}\n` : formatRecommendation(rec));
    return 0;
  },
};

function intOption(value: unknown, name: string, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min)
    throw new BerthError(
      'INVALID_REQUEST',
      `${name} must be a whole number of at least ${min}, got ${String(value)}`,
    );
  return n;
}

/** The pick, a table of every option with its numbers, then each option's reasons. */
export function formatRecommendation(r: Recommendation): string {
  const lines = [
    `${r.model.architecture}, ${(r.model.parameters / 1e9).toFixed(2)} B parameters${r.model.active_parameters ? ` (${(r.model.active_parameters / 1e9).toFixed(2)} B active per token)` : ''}, ${r.model.dtype}, context ${r.context_length}`,
    `Pick: ${r.summary}`,
    '',
    ...table(
      [
        '',
        'backend',
        'type',
        'where',
        'fit',
        'weights',
        'kv cache',
        'overhead',
        'total',
        'available',
        'settings',
      ],
      r.options.map((o) => [
        o.recommended ? '*' : o.installed ? '' : '-',
        o.backend,
        o.quantization ?? o.dtype ?? '',
        o.placement === 'partial' ? `${o.device} + RAM` : o.device,
        o.fit.replace(/_/g, ' '),
        formatBytes(o.memory.weights_bytes),
        formatBytes(o.memory.kv_cache_bytes),
        formatBytes(o.memory.overhead_bytes),
        formatBytes(o.memory.total_bytes),
        formatBytes(o.memory.available_bytes),
        Object.entries(o.config)
          .map(([k, v]) => `${k}=${v}`)
          .join(' '),
      ]),
    ),
    '',
    '* the pick   - not installed',
  ];
  for (const o of r.options) {
    lines.push(
      '',
      `${o.backend}${o.quantization ? ` ${o.quantization}` : ''}:`,
      ...o.reasons.map((x) => `  - ${x}`),
    );
    if (!o.installed && o.install_hint) lines.push(`  - install: ${o.install_hint}`);
  }
  return `${lines.join('\n')}\n`;
}
