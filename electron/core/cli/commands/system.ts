import type { Settings } from '../../../../shared/settings.js';
import type { SystemReport } from '../../../../shared/system.js';
import { EventBus } from '../../events.js';
import { detectSystem } from '../../hardware/detect.js';
import { berthPaths, resolveHome } from '../../paths.js';
import { SettingsService } from '../../settings/settings.js';
import { createFileStore } from '../../settings/store.js';
import { appRoot } from '../../version.js';
import type { Command } from '../command.js';
import { formatBytes } from '../output.js';

/** Detects the machine in-process, with the user's settings (Python for vLLM, Ollama host). */
export async function detectForCli(
  env: NodeJS.ProcessEnv,
): Promise<{ report: SystemReport; settings: Settings }> {
  const home = resolveHome(env);
  const paths = berthPaths(home);
  const settings = new SettingsService(createFileStore(paths.settingsDir), new EventBus()).get();
  const report = await detectSystem({
    env,
    home,
    appRoot: appRoot(),
    pythonEnvDir: paths.pythonEnvDir,
    settings: {
      ollamaHost: settings.ollama.host,
      ...(settings.python.vllm ? { vllmPython: settings.python.vllm } : {}),
      ...(settings.python.converter ? { converterPython: settings.python.converter } : {}),
      ...(settings.ollama.binary ? { ollamaBinary: settings.ollama.binary } : {}),
    },
  });
  return { report, settings };
}

/** `berth system`: GPUs, memory and backends of this machine (in-process; no running Berth needed). */
export const systemCommand: Command = {
  name: 'system',
  summary: 'Show GPUs (VRAM free/total), CPU, RAM, disk and which backends are installed',
  usage: 'berth system [--json]',
  options: {},
  async run(args, io, env) {
    if (args.positionals.length > 0) {
      io.err(`usage: ${this.usage}\n`);
      return 2;
    }
    const { report } = await detectForCli(env);
    io.out(args.values.json ? `${JSON.stringify(report, null, 2)}\n` : formatSystem(report));
    return 0;
  },
};

/** Readable tables: GPUs, then the machine, then backends, then warnings. */
export function formatSystem(r: SystemReport): string {
  const lines: string[] = [];
  if (r.gpus.length === 0) {
    lines.push(
      'GPUs: none found. Models run on the CPU with the built-in engine or Ollama (Q4_K_M is fastest there).',
    );
  } else {
    lines.push(
      ...table(
        ['#', 'gpu', 'vram free', 'vram total', 'compute', 'driver', 'cuda'],
        r.gpus.map((g) => [
          String(g.index),
          g.mig
            ? `${g.name} (MIG of #${g.mig.parent_index})`
            : g.mig_enabled
              ? `${g.name} (MIG mode)`
              : g.name,
          g.memory_free_bytes === undefined ? '?' : formatBytes(g.memory_free_bytes),
          formatBytes(g.memory_total_bytes),
          g.compute_capability ?? g.gfx_version ?? '',
          g.driver ?? '',
          g.cuda_version ?? '',
        ]),
      ),
    );
  }
  lines.push(
    '',
    `CPU   ${r.cpu.model} (${r.cpu.cores} cores)`,
    `RAM   ${formatBytes(r.memory.free_bytes)} free of ${formatBytes(r.memory.total_bytes)}`,
    ...(r.disk
      ? [
          `Disk  ${formatBytes(r.disk.free_bytes)} free of ${formatBytes(r.disk.total_bytes)} (${r.disk.path})`,
        ]
      : []),
    '',
    ...table(
      ['backend', 'installed', 'version', 'detail'],
      r.backends.map((b) => [
        b.name,
        b.installed ? 'yes' : 'no',
        b.version ?? '',
        b.installed ? (b.detail ?? '') : `${b.detail ?? ''}; install: ${b.install_hint ?? ''}`,
      ]),
    ),
  );
  if (r.warnings.length > 0) lines.push('', ...r.warnings.map((w) => `warning: ${w}`));
  return `${lines.join('\n')}\n`;
}

/** Left-aligned columns with a rule under the header. */
export function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const fmt = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [fmt(header), fmt(widths.map((w) => '-'.repeat(w))), ...rows.map(fmt)];
}
