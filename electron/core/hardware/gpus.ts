import type { Gpu } from '../../../shared/system.js';
import {
  attachProcesses,
  NVIDIA_APP_FIELDS,
  NVIDIA_GPU_FIELDS,
  NVIDIA_GPU_FIELDS_LEGACY,
  parseCudaVersion,
  parseNvidiaComputeApps,
  parseNvidiaQueryGpu,
  parseNvidiaSmiXml,
} from './nvidia.js';
import { parseRocmSmiJson } from './rocm.js';
import { firstLine, runTool, type ToolResult } from './run-tool.js';

/** What GPU detection needs from its host; tests pass a PATH with fake tools. */
export interface GpuDetectOptions {
  env: NodeJS.ProcessEnv;
  /** Per tool call. */
  timeoutMs: number;
  /** Ask for the processes holding VRAM and the CUDA version (the full report); the live refresh skips them. */
  details?: boolean;
}

export interface GpuDetection {
  gpus: Gpu[];
  warnings: string[];
  /** Whether the vendor tool answered at all (false: not installed or broken). */
  answered: boolean;
}

/** `nvidia-smi --query-gpu` (with fallbacks for old drivers and MIG), and its process list. */
export async function detectNvidia(options: GpuDetectOptions): Promise<GpuDetection> {
  const query = (fields: readonly string[]) =>
    runTool('nvidia-smi', [`--query-gpu=${fields.join(',')}`, '--format=csv,noheader,nounits'], options);
  const [first, apps, version] = await Promise.all([
    query(NVIDIA_GPU_FIELDS),
    options.details
      ? runTool(
          'nvidia-smi',
          [`--query-compute-apps=${NVIDIA_APP_FIELDS.join(',')}`, '--format=csv,noheader,nounits'],
          options,
        )
      : undefined,
    options.details ? runTool('nvidia-smi', ['--version'], options) : undefined,
  ]);
  let result = first;
  let fields: readonly string[] = NVIDIA_GPU_FIELDS;
  // Drivers before 510 refuse compute_cap / mig.mode.current: ask again for what they know.
  if (!result.ok && /not a valid field/i.test(`${result.stdout}${result.stderr}`)) {
    result = await query(NVIDIA_GPU_FIELDS_LEGACY);
    fields = NVIDIA_GPU_FIELDS_LEGACY;
  }
  if (!result.ok) return { gpus: [], warnings: toolWarning('nvidia-smi', result), answered: false };
  const parsed = parseNvidiaQueryGpu(result.stdout, fields);
  const warnings = [...parsed.warnings];
  let gpus = parsed.items;
  if (apps?.ok) {
    const a = parseNvidiaComputeApps(apps.stdout);
    gpus = attachProcesses(gpus, a.items);
    warnings.push(...a.warnings);
  }
  const cuda = version?.ok ? parseCudaVersion(version.stdout) : undefined;
  if (cuda) gpus = gpus.map((g) => ({ ...g, cuda_version: cuda }));
  if (gpus.some((g) => g.mig_enabled)) {
    // The CSV query lists physical GPUs only; MIG slices (what a process can actually use) come from -q -x.
    const xml = await runTool('nvidia-smi', ['-q', '-x'], { ...options, timeoutMs: options.timeoutMs * 2 });
    if (xml.ok) {
      const slices = parseNvidiaSmiXml(xml.stdout).items.filter((g) => g.mig);
      const next = gpus.reduce((max, g) => Math.max(max, g.index + 1), 0);
      gpus = [...gpus, ...slices.map((s, i) => ({ ...s, index: next + i }))];
    } else {
      warnings.push(...toolWarning('nvidia-smi -q -x (MIG slices)', xml));
    }
  }
  return { gpus, warnings, answered: true };
}

/** `rocm-smi --showmeminfo vram --showproductname --json`. */
export async function detectRocm(options: GpuDetectOptions): Promise<GpuDetection> {
  const result = await runTool('rocm-smi', ['--showmeminfo', 'vram', '--showproductname', '--json'], options);
  if (!result.ok) return { gpus: [], warnings: toolWarning('rocm-smi', result), answered: false };
  const parsed = parseRocmSmiJson(result.stdout);
  return { gpus: parsed.items, warnings: parsed.warnings, answered: true };
}

/**
 * Apple Silicon: the GPU shares system RAM. Metal lets one process wire about 75% of it by default
 * (recommendedMaxWorkingSetSize), which is what llama.cpp plans against; that is the "VRAM" we report.
 */
export function appleUnifiedGpu(totalMemBytes: number, freeMemBytes: number, model: string): Gpu {
  const usable = Math.floor(totalMemBytes * 0.75);
  return {
    index: 0,
    vendor: 'apple',
    name: `${model} GPU (unified memory)`,
    memory_total_bytes: usable,
    memory_free_bytes: Math.min(usable, freeMemBytes),
    unified_memory: true,
    source: 'apple',
  };
}

/** A warning that says what failed and what to do. A missing tool is silent: most machines lack one of them. */
export function toolWarning(tool: string, result: ToolResult): string[] {
  if (result.ok || result.reason === 'missing') return [];
  if (result.reason === 'timeout')
    return [
      `${tool} did not answer in time and was stopped; its GPUs are not shown. A hung driver is the usual cause: run \`${tool.split(' ')[0]}\` in a terminal to see.`,
    ];
  const line = firstLine(result);
  if (/Driver\/library version mismatch/i.test(line))
    return [
      `${tool}: ${line}. The NVIDIA driver was updated but the old one is still loaded: reboot (or reload the nvidia kernel modules).`,
    ];
  if (/couldn't communicate with the NVIDIA driver|NVML/i.test(line))
    return [
      `${tool}: ${line}. Check that the NVIDIA driver is installed and loaded (\`lsmod | grep nvidia\`).`,
    ];
  return [`${tool} failed: ${line}`];
}
