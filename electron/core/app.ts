import { dirname } from 'node:path';
import type { ServerType } from '../../shared/deploy.js';
import type { AppInfo } from '../../shared/settings.js';
import { JobRegistry } from './checkpoints/registry.js';
import { type Clock, systemClock } from './clock.js';
import { type ConversionService, createConversionService } from './conversion/service.js';
import { chooseAuto } from './deploy/auto.js';
import { type DeployDeps, DeployService } from './deploy/deploy.js';
import { EventBus } from './events.js';
import { SystemService } from './hardware/service.js';
import { type BerthPaths, berthPaths } from './paths.js';
import { mkdirPrivate } from './private-fs.js';
import { deployQuality } from './quality/requests.js';
import type { Backend } from './servers/backend.js';
import { createLlamaCppBackend } from './servers/backends/llamacpp.js';
import { createOllamaBackend } from './servers/backends/ollama.js';
import { createVllmBackend } from './servers/backends/vllm.js';
import { ServerManager } from './servers/manager.js';
import { SettingsService } from './settings/settings.js';
import { createFileStore, type KeyValueStore } from './settings/store.js';
import { appRoot, berthVersion } from './version.js';

/** What the composition root needs from its host (Electron main, headless mode, or a test). */
export interface CoreOptions {
  /** Berth's data folder; every piece of state lives under it. */
  home: string;
  mode: AppInfo['mode'];
  /** Settings persistence; defaults to a JSON file in `home`. */
  store?: KeyValueStore;
  clock?: Clock;
  /** The environment children inherit from (through an allowlist) and tools are looked up in. */
  env?: NodeJS.ProcessEnv;
}

/** The running core: every service, built once and wired together. */
export interface Core {
  readonly mode: AppInfo['mode'];
  readonly paths: BerthPaths;
  readonly bus: EventBus;
  readonly clock: Clock;
  readonly env: NodeJS.ProcessEnv;
  readonly settings: SettingsService;
  /** The machine: GPUs, memory, backends (cached report), recommendations, live VRAM while servers run. */
  readonly system: SystemService;
  /** Registered training runs and model folders; resolves deploy requests' job_id + checkpoint_path. */
  readonly jobs: JobRegistry;
  /** The deploy API: one function behind IPC, HTTP and the CLI. */
  readonly deploy: DeployService;
  /** Every inference server Berth runs: start, stop, restart, remove, logs, reconciliation. */
  readonly servers: ServerManager;
  /** The backends by server type (vllm here; the built-in engine and Ollama register theirs below). */
  readonly backends: Partial<Record<ServerType, Backend>>;
  /** HF folder -> GGUF (converter child process, llama.cpp quantizer, conversion cache, Python env). */
  readonly conversion: ConversionService;
  /** Set by the host once the local HTTP API listens. */
  apiUrl: string | undefined;
  info(): AppInfo;
  /** Stops what must stop (servers, unless the user keeps them) and releases resources. */
  close(): Promise<void>;
  /** Registers cleanup to run on close, last registered first. */
  onClose(fn: () => Promise<void> | void): void;
}

/** Builds the core from its parts. Later services are added here, each from injected dependencies. */
export async function createCore(options: CoreOptions): Promise<Core> {
  const paths = berthPaths(options.home);
  for (const dir of [
    paths.home,
    paths.logsDir,
    paths.cacheDir,
    paths.ggufCacheDir,
    paths.tmpDir,
    dirname(paths.stateFile('x')),
  ])
    mkdirPrivate(dir);
  const bus = new EventBus();
  const store = options.store ?? createFileStore(paths.settingsDir);
  const settings = new SettingsService(store, bus);
  const closers: Array<() => Promise<void> | void> = [];
  const version = berthVersion();

  const clock = options.clock ?? systemClock;
  const env = options.env ?? process.env;
  const jobs = new JobRegistry({
    file: paths.stateFile('jobs'),
    bus,
    clock,
    env,
    roots: () => settings.get().roots,
  });
  const conversion = createConversionService({ paths, settings, clock, env });
  const backends: Partial<Record<ServerType, Backend>> = {
    vllm: createVllmBackend({ settings: () => settings.get(), env }),
    // The built-in engine (and Ollama) convert through core.conversion.
    llamacpp: createLlamaCppBackend({
      settings: () => settings.get(),
      convert: (request) => conversion.convert(request),
    }),
    ollama: createOllamaBackend({
      settings: () => settings.get(),
      env,
      convert: (request) => conversion.convert(request),
    }),
  };
  const servers = new ServerManager({
    bus,
    clock,
    env,
    settings: () => settings.get(),
    logsDir: paths.logsDir,
    stateFile: paths.stateFile('servers'),
    backends,
  });
  // deploy() reaches the other services through these late-bound dependencies (wired below as they exist).
  const deployDeps: DeployDeps = {
    bus,
    now: () => clock.now(),
    settings: () => settings.get(),
    resolveCheckpoint: async (ref) => {
      const checkpoint = await jobs.resolve(ref);
      const jobName = jobs.nameOf(ref);
      const basePath = checkpoint.lora?.base_model_path;
      return { checkpoint, ...(jobName ? { jobName } : {}), ...(basePath ? { basePath } : {}) };
    },
    backends,
    servers,
    recommend: async (checkpoint, config) =>
      chooseAuto(
        await system.recommend(checkpoint, {
          ...(config.context_length ? { context_length: config.context_length } : {}),
        }),
      ),
  };

  const system = new SystemService({
    bus,
    env,
    home: paths.home,
    appRoot: appRoot(),
    pythonEnvDir: paths.pythonEnvDir,
    settings: () => settings.get(),
  });

  const core: Core = {
    mode: options.mode,
    paths,
    bus,
    clock,
    env,
    settings,
    system,
    jobs,
    servers,
    backends,
    deploy: new DeployService(deployDeps),
    conversion,
    apiUrl: undefined,
    info: () => ({
      version,
      mode: options.mode,
      home: paths.home,
      platform: `${process.platform}-${process.arch}`,
      ...(core.apiUrl ? { api_url: core.apiUrl } : {}),
    }),
    onClose: (fn) => void closers.push(fn),
    async close() {
      const errors: unknown[] = [];
      for (const fn of closers.reverse()) {
        try {
          await fn();
        } catch (error) {
          errors.push(error);
        }
      }
      closers.length = 0;
      if (errors.length > 0) throw new AggregateError(errors, 'Berth did not shut down cleanly');
    },
  };
  // Deploy-time quality measurement (issue 13): the same quality service the HTTP routes and IPC use.
  deployDeps.quality = deployQuality(core);
  // Live GPU memory per server: each refresh's process list mapped onto the servers' process trees.
  const stopGpuUsage = system.onGpuProcesses((processes) => servers.applyGpuProcesses(processes));
  core.onClose(stopGpuUsage);
  core.onClose(() => system.close());
  core.onClose(() => servers.close());
  core.onClose(() => core.deploy.cancelAll());
  // After every backend is registered: re-adopt servers that outlived the previous run, mark the rest stopped.
  await servers.reconcile();
  return core;
}
