import type { GpuProcess } from '../../../shared/system.js';
import { NVIDIA_APP_FIELDS, type Parsed, parseNvidiaComputeApps } from './nvidia.js';
import { runTool } from './run-tool.js';

/**
 * Parses `rocm-smi --showpids --json`: `{"system": {"PID4242": "python3, 1, 2147483648, 0, 0"}}`, the values
 * being process name, GPU count, VRAM bytes, SDMA bytes and CU occupancy (rocm_smi.py's showPids joins a
 * row's cells with ", " after lowercasing, so a name with spaces spreads over several cells: the numbers are
 * read from the right).
 */
export function parseRocmPids(text: string): Parsed<GpuProcess> {
  const items: GpuProcess[] = [];
  const warnings: string[] = [];
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { items, warnings: text.trim() ? ['rocm-smi --showpids printed something that is not JSON'] : [] };
  }
  const system = (json as { system?: Record<string, unknown> } | null)?.system ?? {};
  for (const [key, value] of Object.entries(system)) {
    const pid = /^PID(\d+)$/i.exec(key)?.[1];
    if (!pid || typeof value !== 'string') continue;
    const cells = value.split(', ');
    const vram = Number(cells[cells.length - 3]);
    if (cells.length < 5 || !Number.isFinite(vram)) {
      warnings.push(`rocm-smi listed a process Berth could not read: "${key}: ${value.slice(0, 80)}"`);
      continue;
    }
    const name = cells.slice(0, cells.length - 4).join(' ');
    items.push({ pid: Number(pid), used_bytes: vram, ...(name ? { name } : {}) });
  }
  return { items, warnings };
}

/** The processes holding GPU memory now, from each vendor tool that answers; undefined when none does. */
export async function queryGpuProcesses(
  vendors: ReadonlySet<'nvidia' | 'amd'>,
  env: NodeJS.ProcessEnv,
  timeoutMs = 2000,
): Promise<GpuProcess[] | undefined> {
  const found: GpuProcess[] = [];
  let answered = false;
  if (vendors.has('nvidia')) {
    const r = await runTool(
      'nvidia-smi',
      [`--query-compute-apps=${NVIDIA_APP_FIELDS.join(',')}`, '--format=csv,noheader,nounits'],
      { env, timeoutMs },
    );
    if (r.ok) {
      answered = true;
      found.push(...parseNvidiaComputeApps(r.stdout).items.map(({ gpu_uuid: _u, ...p }) => p));
    }
  }
  if (vendors.has('amd')) {
    const r = await runTool('rocm-smi', ['--showpids', '--json'], { env, timeoutMs });
    if (r.ok) {
      answered = true;
      found.push(...parseRocmPids(r.stdout).items);
    }
  }
  return answered ? found : undefined;
}
