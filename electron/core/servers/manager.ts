import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { ModelNameSchema, type ServerType } from '../../../shared/deploy.js';
import type { LogLine, ServerInfo } from '../../../shared/servers.js';
import type { Settings } from '../../../shared/settings.js';
import type { GpuProcess } from '../../../shared/system.js';
import type { Clock } from '../clock.js';
import { BerthError } from '../errors.js';
import type { EventBus } from '../events.js';
import type { Backend, PreparedModel, StageContext } from './backend.js';
import { gpuMemoryByServer } from './gpu-usage.js';
import { LogSink } from './log-sink.js';
import { ManagedServer, type ServerHost, urls } from './managed-server.js';
import { choosePort, isPortFree, nextFreePort } from './ports.js';
import { descendants } from './process-tree.js';
import { type ReconcileReport, reconcileServers } from './reconcile.js';
import { loadServerRecords, saveServerRecords } from './state.js';

/** What `core.servers.start` takes: a prepared model, the backend to run it, and where. */
export interface StartSpec {
  name: string;
  backend: Backend;
  model: PreparedModel;
  port?: number | undefined;
  gpus?: string | undefined;
  auto_restart?: boolean | undefined;
  job_id?: string | undefined;
  checkpoint_path?: string | undefined;
  model_id?: string | undefined;
  signal?: AbortSignal | undefined;
  ctx?: StageContext | undefined;
  /** Overrides the backend's start-up deadline (tests, or a user who knows the model loads slowly). */
  startup_deadline_ms?: number | undefined;
}

export interface ServerManagerDeps {
  bus: EventBus;
  clock: Clock;
  env: NodeJS.ProcessEnv;
  settings: () => Settings;
  logsDir: string;
  stateFile: string;
  backends: Partial<Record<ServerType, Backend>>;
}

const HOST = '127.0.0.1';

/**
 * Every inference server Berth runs, whatever the backend: start (port choice, supervision, health), stop,
 * restart, remove, logs, persistence across runs, and re-adoption of servers that outlived a previous Berth.
 */
export class ServerManager {
  private readonly servers = new Map<string, ManagedServer>();
  /** Serialises name and port decisions so concurrent starts never pick the same port or name. */
  private admission: Promise<unknown> = Promise.resolve();
  private closed = false;
  /** What the last reconciliation found (servers re-adopted, leftovers, and those marked stopped). */
  lastReconcile: ReconcileReport = { adopted: [], leftovers: [], stopped: [] };

  private readonly host: ServerHost;

  constructor(private readonly deps: ServerManagerDeps) {
    this.host = {
      clock: deps.clock,
      env: deps.env,
      emit: (event) => deps.bus.emit(event),
      changed: (server) => {
        if (!this.servers.has(server.info.id)) return;
        deps.bus.emit({ type: 'server.status', server: server.info });
        this.save();
      },
      repickPort: async (server) => {
        if (server.backend.external?.(server.model)) return server.info.port;
        const others = this.usedPorts(server.info.id);
        if (!others.has(server.info.port) && (await isPortFree(server.info.port))) return server.info.port;
        const port = await nextFreePort(server.info.port + 1, others);
        server.sink.write('berth', `port ${server.info.port} is taken now; using ${port}`);
        return port;
      },
    };
  }

  /** Starts a server and resolves once it is running; on failure rejects with the classified error, no process left. */
  async start(spec: StartSpec): Promise<ServerInfo> {
    if (this.closed) throw new BerthError('INTERNAL', 'Berth is shutting down');
    const name = ModelNameSchema.safeParse(spec.name);
    if (!name.success) {
      throw new BerthError(
        'INVALID_REQUEST',
        `Invalid server name "${spec.name}": ${name.error.issues[0]?.message}`,
      );
    }
    const server = await this.admit(spec);
    const options = { signal: spec.signal, ctx: spec.ctx, startupDeadlineMs: spec.startup_deadline_ms };
    // A port Berth picked can be taken by someone else between the check and the server's bind: pick again
    // (a port the user asked for stays an error).
    for (let attempt = 1; ; attempt++) {
      try {
        await server.launch(options);
        return server.info;
      } catch (error) {
        const lostRace =
          error instanceof BerthError && error.code === 'PORT_IN_USE' && spec.port === undefined;
        if (!lostRace || attempt >= 3 || spec.signal?.aborted) throw error;
        const port = await this.host.repickPort(server);
        spec.ctx?.log(`port ${server.info.port} was taken while starting; trying ${port}`, 'berth');
        server.update(urls(server.info.host, port));
      }
    }
  }

  list(): ServerInfo[] {
    return [...this.servers.values()].map((s) => s.info);
  }

  /**
   * Puts each live server's GPU memory on its card: the processes holding GPU memory mapped onto each server's
   * process tree (`treeOf` finds the descendants; tests fake it). Changes under 1 MiB are not announced.
   */
  applyGpuProcesses(processes: readonly GpuProcess[], treeOf: (pid: number) => number[] = descendants): void {
    const live = [...this.servers.values()].filter((s) => s.live);
    const usage = gpuMemoryByServer(
      live.map((s) => ({ id: s.info.id, pid: s.info.pid })),
      processes,
      treeOf,
    );
    for (const server of live) {
      const bytes = usage.get(server.info.id);
      if (bytes === undefined) continue;
      const before = server.info.gpu_memory_bytes;
      if (before === undefined || Math.abs(before - bytes) >= 1024 * 1024)
        server.update({ gpu_memory_bytes: bytes });
    }
  }

  /** A server by id or by name; SERVER_NOT_FOUND otherwise. */
  get(idOrName: string): ServerInfo {
    return this.find(idOrName).info;
  }

  async stop(idOrName: string, graceMs?: number): Promise<ServerInfo> {
    return this.find(idOrName).stop(graceMs);
  }

  /** Stops (when live) and starts again on the same port, or the next free one when that is taken now. */
  async restart(idOrName: string): Promise<ServerInfo> {
    const server = this.find(idOrName);
    if (server.info.status === 'starting' || server.info.status === 'stopping') {
      throw new BerthError(
        'ALREADY_RUNNING',
        `${server.info.name} is ${server.info.status}`,
        'Wait for it to finish.',
      );
    }
    await server.stop();
    const port = await this.host.repickPort(server);
    if (port !== server.info.port) server.update(urls(server.info.host, port));
    return server.launch();
  }

  /** Stops it, lets the backend clean up (Ollama deletes the model), and forgets it. */
  async remove(idOrName: string): Promise<void> {
    const server = this.find(idOrName);
    await server.stop();
    await server.backend.remove?.(server.info);
    server.detach();
    this.servers.delete(server.info.id);
    this.save();
    this.deps.bus.emit({ type: 'server.removed', server_id: server.info.id });
  }

  /** The last `tail` log lines (all kept, up to 5,000, when omitted). */
  logs(idOrName: string, tail?: number): LogLine[] {
    return this.find(idOrName).sink.tail(tail);
  }

  /** Calls `listener` with each new log line; returns the unsubscribe function. */
  follow(idOrName: string, listener: (line: LogLine) => void): () => void {
    return this.find(idOrName).sink.follow(listener);
  }

  /** Loads saved servers: re-adopts the live ones, marks the rest stopped, reports leftovers. */
  async reconcile(): Promise<ReconcileReport> {
    const { records, problem } = loadServerRecords(this.deps.stateFile);
    if (problem) process.emitWarning(`Berth: ${problem}; starting with no saved servers`);
    const restored = await reconcileServers(records, {
      backends: this.deps.backends,
      create: (record, backend) => {
        const server = new ManagedServer(
          record.info,
          backend,
          record.model as unknown as PreparedModel,
          this.sinkFor(record.info),
          this.host,
          record.gpus,
          record.requested_port,
        );
        this.servers.set(record.info.id, server);
        return server;
      },
    });
    this.lastReconcile = restored;
    this.save();
    return restored;
  }

  /** On quit: stops every server, or lets them run when the user keeps servers on quit. */
  async close(): Promise<void> {
    this.closed = true;
    const keep = this.deps.settings().keep_servers_on_quit;
    await Promise.all(
      [...this.servers.values()].map(async (server) => {
        if (keep && server.info.status === 'running') server.detach();
        else await server.stop();
      }),
    );
    this.save();
  }

  private async admit(spec: StartSpec): Promise<ManagedServer> {
    const run = this.admission.then(async () => {
      const existing = [...this.servers.values()].find((s) => s.info.name === spec.name);
      if (existing?.live) {
        throw new BerthError(
          'NAME_CONFLICT',
          `A server named "${spec.name}" is already ${existing.info.status}`,
          'Choose another name, or stop that server first.',
          { server_id: existing.info.id },
        );
      }
      if (existing) {
        existing.detach();
        this.servers.delete(existing.info.id);
      }
      const settings = this.deps.settings();
      const defaultPort = settings.ports[spec.backend.type] ?? spec.backend.defaultPort;
      // A server that already runs elsewhere (the user's Ollama) keeps its own address; many models share it.
      const external = spec.backend.external?.(spec.model);
      const choice: { port: number; substituted_for?: number } =
        external ?? (await choosePort(spec.port ?? spec.model.config.port, defaultPort, this.usedPorts()));
      const host = external?.host ?? HOST;
      const id = randomUUID();
      const base = spec.backend.baseModelName?.(spec.model);
      const info: ServerInfo = {
        id,
        name: spec.name,
        server_type: spec.backend.type,
        status: 'starting',
        host,
        ...urls(host, choice.port),
        model_name: spec.model.model_name,
        ...(base ? { base_model_name: base } : {}),
        model_id: spec.model_id ?? randomUUID(),
        model_path: spec.model.model_path,
        ...(spec.job_id ? { job_id: spec.job_id } : {}),
        ...(spec.checkpoint_path ? { checkpoint_path: spec.checkpoint_path } : {}),
        ...(spec.model.gguf_path ? { gguf_path: spec.model.gguf_path } : {}),
        ...(spec.model.quantization ? { quantization: spec.model.quantization } : {}),
        restarts: 0,
        auto_restart: spec.auto_restart ?? spec.model.config.auto_restart ?? settings.auto_restart,
      };
      const server = new ManagedServer(
        info,
        spec.backend,
        spec.model,
        this.sinkFor(info),
        this.host,
        spec.gpus,
        spec.port,
      );
      this.servers.set(id, server);
      if (choice.substituted_for !== undefined) {
        const note = `port ${choice.substituted_for} is taken; using ${choice.port}`;
        server.sink.write('berth', note);
        spec.ctx?.log(note, 'berth');
      }
      return server;
    });
    this.admission = run.catch(() => undefined);
    return run;
  }

  private usedPorts(except?: string): Set<number> {
    const ports = new Set<number>();
    for (const s of this.servers.values()) if (s.info.id !== except && s.live) ports.add(s.info.port);
    return ports;
  }

  private sinkFor(info: ServerInfo): LogSink {
    const file = join(this.deps.logsDir, 'servers', `${info.name}-${info.id.slice(0, 8)}.log`);
    const sink = new LogSink(file, `[${info.server_type} ${info.name}]`);
    sink.follow((log) => this.deps.bus.emit({ type: 'server.log', server_id: info.id, log }));
    return sink;
  }

  private find(idOrName: string): ManagedServer {
    const byId = this.servers.get(idOrName);
    if (byId) return byId;
    const byName = [...this.servers.values()].filter((s) => s.info.name === idOrName);
    const found = byName.find((s) => s.live) ?? byName.at(-1);
    if (found) return found;
    throw new BerthError(
      'SERVER_NOT_FOUND',
      `No server "${idOrName}"`,
      'List servers with `berth ls` or GET /api/servers.',
    );
  }

  private save(): void {
    saveServerRecords(
      this.deps.stateFile,
      [...this.servers.values()].map((s) => s.record()),
    );
  }
}
