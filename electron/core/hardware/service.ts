import type { Checkpoint } from '../../../shared/checkpoints.js';
import type { Settings } from '../../../shared/settings.js';
import type { Gpu, GpuProcess, Recommendation, SystemReport } from '../../../shared/system.js';
import { baseNotFound, checkAdapterBase } from '../checkpoints/adapter-base.js';
import { BerthError } from '../errors.js';
import type { EventBus } from '../events.js';
import { deployQualityDefault, LORA_QUALITY_REASON } from '../quality/deploy-default.js';
import { type DetectOptions, detectSystem } from './detect.js';
import { queryGpuProcesses } from './gpu-processes.js';
import { detectNvidia } from './gpus.js';
import { usableGpus } from './memory.js';
import { type RecommendOptions, recommendDeployment } from './recommend.js';

export interface SystemServiceDeps {
  bus: EventBus;
  env: NodeJS.ProcessEnv;
  home: string;
  appRoot: string;
  pythonEnvDir: string;
  settings: () => Settings;
  /** Replaces the real detection (tests, benchmarks). */
  detect?: (options: DetectOptions) => Promise<SystemReport>;
  /** Replaces the live VRAM query (one nvidia-smi call). */
  queryVram?: () => Promise<Gpu[] | undefined>;
  /** Replaces the live query of processes holding GPU memory (nvidia-smi, rocm-smi). */
  queryProcesses?: () => Promise<GpuProcess[] | undefined>;
}

/** How long a report is reused before `report()` detects again. */
const REPORT_TTL_MS = 60_000;
/** The live refresh asks nvidia-smi at most this often. */
export const LIVE_REFRESH_MS = 3000;

/**
 * core.system: the machine report (cached, one detection in flight at a time), the recommendation for a
 * checkpoint, and a cheap live VRAM refresh while servers run (emits system.changed when free VRAM moves).
 */
export class SystemService {
  private cached: SystemReport | undefined;
  private cachedAt = 0;
  private inFlight: Promise<SystemReport> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private refreshing = false;
  private readonly running = new Set<string>();
  private readonly unsubscribe: () => void;
  private readonly processListeners = new Set<(processes: GpuProcess[]) => void>();

  constructor(private readonly deps: SystemServiceDeps) {
    // Live VRAM while any server runs: follow the servers' status events, so no caller has to remember.
    this.unsubscribe = deps.bus.subscribe((event) => {
      if (event.type === 'server.status') {
        const active = ['starting', 'running', 'stopping'].includes(event.server.status);
        if (active) this.running.add(event.server.id);
        else this.running.delete(event.server.id);
      } else if (event.type === 'server.removed') this.running.delete(event.server_id);
      else return;
      if (this.running.size > 0) this.startLiveRefresh();
      else this.stopLiveRefresh();
    });
  }

  /** The report; detects when there is none, it is older than a minute, or `refresh` is set. */
  async report(options: { refresh?: boolean } = {}): Promise<SystemReport> {
    if (!options.refresh && this.cached && Date.now() - this.cachedAt < REPORT_TTL_MS) return this.cached;
    if (this.inFlight) return this.inFlight;
    const settings = this.deps.settings();
    const detect = this.deps.detect ?? detectSystem;
    this.inFlight = detect({
      env: this.deps.env,
      home: this.deps.home,
      appRoot: this.deps.appRoot,
      pythonEnvDir: this.deps.pythonEnvDir,
      settings: {
        ollamaHost: settings.ollama.host,
        ...(settings.python.vllm ? { vllmPython: settings.python.vllm } : {}),
        ...(settings.python.converter ? { converterPython: settings.python.converter } : {}),
        ...(settings.ollama.binary ? { ollamaBinary: settings.ollama.binary } : {}),
      },
    })
      .then((report) => {
        const changed = this.cached !== undefined && fingerprint(this.cached) !== fingerprint(report);
        this.cached = report;
        this.cachedAt = Date.now();
        if (changed) this.deps.bus.emit({ type: 'system.changed' });
        return report;
      })
      .finally(() => {
        this.inFlight = undefined;
      });
    return this.inFlight;
  }

  /** The last report without detecting (undefined before the first). */
  peek(): SystemReport | undefined {
    return this.cached;
  }

  /** What fits where for a checkpoint, on this machine. */
  async recommend(checkpoint: Checkpoint, options: RecommendOptions = {}): Promise<Recommendation> {
    if (!checkpoint.shape)
      throw new BerthError(
        'UNSUPPORTED_MODEL',
        `No model shape for ${checkpoint.path}: Berth cannot estimate its memory`,
        checkpoint.kind === 'lora-adapter'
          ? 'Pick the base model, or a merged checkpoint: an adapter alone has no config.json with the shape.'
          : 'Pick a folder with a config.json (or a GGUF file).',
      );
    const report = await this.report();
    // An adapter: the base's weights (its shape came from the base's config.json) plus the adapter itself.
    const base = checkpoint.kind === 'lora-adapter' ? checkpoint.lora?.base_model_path : undefined;
    if (checkpoint.kind === 'lora-adapter' && !base) throw baseNotFound(checkpoint.lora?.base_model ?? '?');
    const adapter = base ? await checkAdapterBase(checkpoint.path, base, false) : undefined;
    const parameters = adapter ? adapter.base_parameters : checkpoint.parameters;
    const recommendation = recommendDeployment(
      report,
      {
        shape: checkpoint.shape,
        ...(parameters ? { parameters } : {}),
        ...(!adapter && checkpoint.active_parameters
          ? { active_parameters: checkpoint.active_parameters }
          : {}),
        ...(adapter ? { adapter: { parameters: adapter.adapter_parameters, rank: adapter.rank } } : {}),
        dtypes: adapter ? [] : checkpoint.dtypes,
        ...(checkpoint.tokenizer?.kind ? { tokenizer: { kind: checkpoint.tokenizer.kind } } : {}),
        path: checkpoint.path,
      },
      options,
    );
    // The deploy form's "Measure quality" default: the same rule the deploy applies when the request has none.
    const quality = adapter
      ? { measure: false, reason: LORA_QUALITY_REASON }
      : deployQualityDefault(checkpoint, usableGpus(report.gpus).length > 0, this.deps.env);
    return { ...recommendation, quality };
  }

  /**
   * One cheap nvidia-smi query: updates free/used VRAM in the cached report and emits system.changed when
   * it moved by more than 64 MiB. Returns whether it changed.
   */
  async refreshVram(): Promise<boolean> {
    if (!this.cached || this.refreshing) return false;
    this.refreshing = true;
    try {
      const gpus = await (this.deps.queryVram ?? (() => this.queryNvidia()))();
      if (!gpus || !this.cached) return false;
      let changed = false;
      const next = this.cached.gpus.map((g) => {
        const live = gpus.find((l) => (g.uuid ? l.uuid === g.uuid : l.index === g.index && !g.mig));
        if (!live || live.memory_free_bytes === undefined) return g;
        if (Math.abs((g.memory_free_bytes ?? 0) - live.memory_free_bytes) > 64 * 1024 * 1024) changed = true;
        return {
          ...g,
          memory_free_bytes: live.memory_free_bytes,
          memory_used_bytes: live.memory_used_bytes ?? g.memory_used_bytes,
        };
      });
      if (changed) {
        this.cached = { ...this.cached, gpus: next, detected_at: new Date().toISOString() };
        this.deps.bus.emit({ type: 'system.changed' });
      }
      return changed;
    } finally {
      this.refreshing = false;
    }
  }

  /** Calls `listener` with the processes holding GPU memory after each live refresh that could list them. */
  onGpuProcesses(listener: (processes: GpuProcess[]) => void): () => void {
    this.processListeners.add(listener);
    return () => this.processListeners.delete(listener);
  }

  /** Lists the processes holding GPU memory (nvidia-smi, rocm-smi) and hands them to the listeners. */
  async refreshProcesses(): Promise<GpuProcess[] | undefined> {
    if (this.processListeners.size === 0) return undefined;
    const query = this.deps.queryProcesses ?? (() => this.queryProcesses());
    const processes = await query();
    if (processes) for (const listener of this.processListeners) listener(processes);
    return processes;
  }

  /** Starts the live VRAM refresh (the server manager calls this while servers run). Idempotent. */
  startLiveRefresh(intervalMs = LIVE_REFRESH_MS): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      void this.refreshVram().catch(() => undefined);
      void this.refreshProcesses().catch(() => undefined);
    }, intervalMs);
    this.timer.unref();
  }

  stopLiveRefresh(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  get live(): boolean {
    return this.timer !== undefined;
  }

  async close(): Promise<void> {
    this.unsubscribe();
    this.stopLiveRefresh();
    await this.inFlight?.catch(() => undefined);
  }

  private async queryProcesses(): Promise<GpuProcess[] | undefined> {
    const vendors = new Set<'nvidia' | 'amd'>();
    for (const g of this.cached?.gpus ?? [])
      if (g.vendor === 'nvidia' || g.vendor === 'amd') vendors.add(g.vendor);
    if (vendors.size === 0) return undefined;
    return queryGpuProcesses(vendors, this.deps.env);
  }

  private async queryNvidia(): Promise<Gpu[] | undefined> {
    if (!this.cached?.gpus.some((g) => g.vendor === 'nvidia')) return undefined;
    const r = await detectNvidia({ env: this.deps.env, timeoutMs: 2000 });
    return r.answered ? r.gpus : undefined;
  }
}

function fingerprint(r: SystemReport): string {
  return JSON.stringify([
    r.gpus.map((g) => [g.name, g.memory_total_bytes]),
    r.backends.map((b) => [b.name, b.installed, b.version]),
  ]);
}
