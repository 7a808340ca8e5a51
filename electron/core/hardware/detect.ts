import { statfs } from 'node:fs/promises';
import si from 'systeminformation';
import type { BackendStatus, Gpu, SystemReport } from '../../../shared/system.js';
import { converterPython, detectConverter, detectLlamaCpp, detectOllama, detectVllm } from './backends.js';
import { appleUnifiedGpu, detectNvidia, detectRocm, type GpuDetection } from './gpus.js';

/** Everything detection needs; the core passes its settings and paths, tests pass fakes. */
export interface DetectOptions {
  env: NodeJS.ProcessEnv;
  /** Berth's data folder: the disk whose free space matters. */
  home: string;
  appRoot: string;
  pythonEnvDir: string;
  settings: { vllmPython?: string; converterPython?: string; ollamaHost: string; ollamaBinary?: string };
  /** Per vendor-tool call (nvidia-smi, rocm-smi, ollama). */
  toolTimeoutMs?: number;
  /** Per Python probe (starting Python and importing torch is slower). */
  pythonTimeoutMs?: number;
  platform?: NodeJS.Platform;
  arch?: NodeJS.Architecture;
}

/** The whole report: GPUs, CPU, RAM, disk, backends. Never throws; what fails becomes a warning. */
export async function detectSystem(options: DetectOptions): Promise<SystemReport> {
  const started = performance.now();
  const platform = options.platform ?? process.platform;
  const arch = options.arch ?? process.arch;
  const toolTimeoutMs = options.toolTimeoutMs ?? 3000;
  const pythonTimeoutMs = options.pythonTimeoutMs ?? 15_000;
  const warnings: string[] = [];
  const guard = async <T>(what: string, fn: () => Promise<T>, fallback: T): Promise<T> => {
    try {
      return await fn();
    } catch (error) {
      warnings.push(`${what} failed: ${(error as Error).message}`);
      return fallback;
    }
  };

  const [cpu, mem, disk, gpuResult, backends] = await Promise.all([
    guard('CPU detection', () => si.cpu(), undefined),
    guard('memory detection', () => si.mem(), undefined),
    guard('disk detection', () => diskSpace(options.home), undefined),
    guard('GPU detection', () => detectGpus(options, platform, arch, toolTimeoutMs), {
      gpus: [],
      warnings: [],
      answered: false,
    }),
    Promise.all([
      guard(
        'vLLM detection',
        () => detectVllm(options.settings.vllmPython ?? 'python3', options.env, pythonTimeoutMs),
        failed('vllm'),
      ),
      guard(
        'Ollama detection',
        () =>
          detectOllama(
            options.settings.ollamaBinary ?? 'ollama',
            options.settings.ollamaHost,
            options.env,
            toolTimeoutMs,
          ),
        failed('ollama'),
      ),
      guard('llama.cpp detection', async () => detectLlamaCpp(platform, arch), failed('llamacpp')),
      guard(
        'converter detection',
        () =>
          detectConverter(
            converterPython(options.settings.converterPython, options.appRoot, options.pythonEnvDir),
            options.env,
            pythonTimeoutMs,
          ),
        failed('converter'),
      ),
    ]),
  ]);
  warnings.push(...gpuResult.warnings);
  const totalMem = mem?.total ?? 0;
  const freeMem = mem?.available ?? 0;
  let gpus = gpuResult.gpus;
  if (platform === 'darwin' && arch === 'arm64' && gpus.length === 0 && totalMem > 0)
    gpus = [appleUnifiedGpu(totalMem, freeMem, cpu?.brand ?? 'Apple Silicon')];
  return {
    detected_at: new Date().toISOString(),
    gpus,
    cpu: {
      model: cpu ? `${cpu.manufacturer} ${cpu.brand}`.trim() : 'unknown CPU',
      cores: cpu?.cores ?? 1,
    },
    memory: { total_bytes: totalMem, free_bytes: freeMem },
    ...(disk ? { disk } : {}),
    backends,
    warnings,
    platform: `${platform}-${arch}`,
    detect_ms: Math.round(performance.now() - started),
  };
}

/** NVIDIA and AMD tools side by side; systeminformation only when neither answered and none hung. */
export async function detectGpus(
  options: Pick<DetectOptions, 'env'>,
  platform: string,
  arch: string,
  timeoutMs: number,
): Promise<GpuDetection> {
  if (platform === 'darwin' && arch === 'arm64') return { gpus: [], warnings: [], answered: true };
  const [nvidia, rocm] = await Promise.all([
    detectNvidia({ env: options.env, timeoutMs, details: true }),
    platform === 'linux' ? detectRocm({ env: options.env, timeoutMs }) : undefined,
  ]);
  const amd = (rocm?.gpus ?? []).map((g, i) => ({ ...g, index: nvidia.gpus.length + i }));
  const warnings = [...nvidia.warnings, ...(rocm?.warnings ?? [])];
  const gpus: Gpu[] = [...nvidia.gpus, ...amd];
  const hung = warnings.some((w) => w.includes('did not answer'));
  if (gpus.length === 0 && !hung) {
    const fallback = await graphicsFallback(timeoutMs);
    gpus.push(...fallback);
  }
  return { gpus, warnings, answered: nvidia.answered || Boolean(rocm?.answered) };
}

/** Discrete GPUs systeminformation sees (lspci / WMI), when no vendor tool could be asked. Free VRAM unknown. */
async function graphicsFallback(timeoutMs: number): Promise<Gpu[]> {
  const result = await Promise.race([
    si.graphics().catch(() => undefined),
    new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), timeoutMs).unref()),
  ]);
  return (result?.controllers ?? [])
    .filter((c) => !c.vramDynamic && (c.vram ?? 0) >= 1024)
    .map((c, index) => ({
      index,
      vendor: vendorOf(c.vendor),
      name: c.model || c.vendor || 'GPU',
      memory_total_bytes: (c.vram ?? 0) * 1024 * 1024,
      source: 'systeminformation' as const,
    }));
}

function vendorOf(vendor: string): Gpu['vendor'] {
  const v = vendor.toLowerCase();
  if (v.includes('nvidia')) return 'nvidia';
  if (v.includes('amd') || v.includes('advanced micro') || v.includes('ati')) return 'amd';
  if (v.includes('intel')) return 'intel';
  if (v.includes('apple')) return 'apple';
  return 'other';
}

async function diskSpace(path: string): Promise<SystemReport['disk']> {
  const s = await statfs(path);
  return { path, free_bytes: s.bavail * s.bsize, total_bytes: s.blocks * s.bsize };
}

function failed(name: BackendStatus['name']): BackendStatus {
  return { name, installed: false, detail: 'detection failed (see warnings)' };
}
