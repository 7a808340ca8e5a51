import type { Checkpoint, Inspection } from '../../../../shared/checkpoints.js';
import { inspectPath } from '../../checkpoints/inspect.js';
import type { Command } from '../command.js';
import { formatBytes } from '../output.js';

/** `berth inspect <path>`: describes a folder in-process (no running Berth needed). Exit 1 when a checkpoint has errors. */
export const inspectCommand: Command = {
  name: 'inspect',
  summary: 'Describe a model folder, training run, LoRA adapter or GGUF file (headers only)',
  usage: 'berth inspect <path> [--json]',
  options: {},
  async run(args, io, env) {
    const path = args.positionals[0];
    if (!path || args.positionals.length > 1) {
      io.err('usage: berth inspect <path> [--json]\n');
      return 2;
    }
    const result = await inspectPath(path, { env });
    if (args.values.json) io.out(`${JSON.stringify(result, null, 2)}\n`);
    else io.out(formatInspection(result));
    return result.checkpoints.some((c) => c.errors.length > 0) ? 1 : 0;
  },
};

/** The readable form: a header line, one table row per checkpoint, then problems. */
export function formatInspection(result: Inspection): string {
  const first = result.checkpoints.find((c) => c.shape) ?? result.checkpoints[0];
  const lines = [
    `${result.name}  (${result.kind}, ${result.checkpoints.length} checkpoint${result.checkpoints.length === 1 ? '' : 's'})  ${result.path}`,
  ];
  if (first?.shape) {
    const s = first.shape;
    lines.push(
      `${s.architecture} · ${s.num_layers} layers · hidden ${s.hidden_size} · heads ${s.num_attention_heads}/${s.num_kv_heads} kv · head_dim ${s.head_dim} · vocab ${s.vocab_size} · ctx ${s.context_length}${s.rope_scaling ? ' · rope scaled' : ''}${s.tie_word_embeddings ? ' · tied embeddings' : ''}${s.num_experts ? ` · ${s.num_experts} experts, ${s.num_experts_used} per token` : ''}${s.sliding_window_layers ? ` · ${s.sliding_window_layers} sliding-window layers (${s.sliding_window})` : ''}`,
    );
  }
  lines.push('');
  const header = [
    'checkpoint',
    'step',
    'kind',
    'params',
    'size',
    'dtype',
    'train',
    'eval',
    'vLLM',
    'GGUF',
    'notes',
  ];
  const rows = result.checkpoints.map(row);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const fmt = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  lines.push(fmt(header), fmt(widths.map((w) => '-'.repeat(w))), ...rows.map(fmt));
  for (const c of result.checkpoints) {
    for (const e of c.errors)
      lines.push(
        `  ${c.relative_path}: error [${e.code}] ${e.message}${e.hint ? `\n    hint: ${e.hint}` : ''}`,
      );
    for (const w of c.warnings) lines.push(`  ${c.relative_path}: ${w}`);
    for (const [name, v] of [
      ['vLLM', c.vllm_servable],
      ['GGUF', c.gguf_convertible],
    ] as const) {
      if (v && !v.ok && c.errors.length === 0)
        lines.push(`  ${c.relative_path}: ${name}: ${v.reason ?? v.code}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

function row(c: Checkpoint): string[] {
  const notes = [
    c.is_best ? 'best' : '',
    c.is_final ? 'final' : '',
    c.lora ? `LoRA r${c.lora.rank} on ${c.lora.base_model}` : '',
    c.tokenizer && c.tokenizer.kind !== 'none'
      ? `${c.tokenizer.kind}${c.tokenizer.chat_template ? '+chat' : ''}`
      : '',
    c.gguf?.file_type ?? '',
  ].filter(Boolean);
  const loss = (v: number | undefined) => (v === undefined ? '' : v.toFixed(4));
  const yes = (v: { ok: boolean } | undefined) => (v ? (v.ok ? 'yes' : 'no') : '');
  return [
    c.relative_path,
    c.step === undefined ? '' : String(c.step),
    c.errors.length > 0 ? `${c.kind} (ERROR)` : c.kind,
    c.parameters === undefined
      ? ''
      : `${formatCount(c.parameters)}${c.active_parameters !== undefined ? ` (${formatCount(c.active_parameters)} active)` : ''}`,
    c.size_bytes === undefined ? '' : formatBytes(c.size_bytes),
    c.dtypes.join(','),
    loss(c.training?.train_loss),
    loss(c.training?.eval_loss),
    yes(c.vllm_servable),
    yes(c.gguf_convertible),
    notes.join(', '),
  ];
}

function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}K`;
  return String(n);
}
