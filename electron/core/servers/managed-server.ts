import type { BerthEvent } from '../../../shared/events.js';
import type { LogLine, ServerInfo } from '../../../shared/servers.js';
import type { Clock } from '../clock.js';
import { BerthError } from '../errors.js';
import type { Backend, LaunchPlan, PreparedModel, StageContext } from './backend.js';
import type { LogSink } from './log-sink.js';
import { nextRestartDelay } from './restart-policy.js';
import type { ServerRecord } from './state.js';
import { type ExitInfo, StartFailure, Supervisor } from './supervisor.js';

export const FAILURE_TAIL_LINES = 50;
const EXTERNAL_READY_MS = 30_000;

/** What a managed server needs from the manager around it. */
export interface ServerHost {
  clock: Clock;
  env: NodeJS.ProcessEnv;
  emit(event: BerthEvent): void;
  /** Called on every change of the server's info (the manager emits server.status and saves state). */
  changed(server: ManagedServer): void;
  /** Picks a port again when a restart finds its old one taken. */
  repickPort(server: ManagedServer): Promise<number>;
}

export interface LaunchOptions {
  signal?: AbortSignal | undefined;
  ctx?: StageContext | undefined;
  startupDeadlineMs?: number | undefined;
}

/** One server Berth runs: its info, its log, its current supervisor, and its auto-restart state. */
export class ManagedServer {
  supervisor: Supervisor | undefined;
  /** Process group of a server left by an earlier Berth that is known to be alive but not adopted. */
  private pendingRestart: { cancel(): void } | undefined;
  private readonly restartHistory: number[] = [];
  private unsubscribe: Array<() => void> = [];

  constructor(
    public info: ServerInfo,
    readonly backend: Backend,
    readonly model: PreparedModel,
    readonly sink: LogSink,
    private readonly host: ServerHost,
    readonly gpus: string | undefined,
    readonly requestedPort: number | undefined,
  ) {}

  /** Whether a process (or a start) is in flight. */
  get live(): boolean {
    return ['starting', 'running', 'stopping'].includes(this.info.status);
  }

  record(): ServerRecord {
    return {
      info: this.info,
      model: this.model as unknown as Record<string, unknown>,
      ...(this.gpus !== undefined ? { gpus: this.gpus } : {}),
      ...(this.requestedPort !== undefined ? { requested_port: this.requestedPort } : {}),
      ...(this.info.pid !== undefined ? { pgid: this.info.pid } : {}),
      owner_pid: process.pid,
    };
  }

  update(patch: Partial<ServerInfo>): void {
    this.info = { ...this.info, ...patch };
    for (const key of Object.keys(patch) as Array<keyof ServerInfo>) {
      if (patch[key] === undefined) delete this.info[key];
    }
    this.host.changed(this);
  }

  /** Starts the backend's process (or attaches to its external server) and resolves once it is running. */
  async launch(options: LaunchOptions = {}): Promise<ServerInfo> {
    const target = { host: this.info.host, port: this.info.port, ...(this.gpus ? { gpus: this.gpus } : {}) };
    const plan = this.backend.launch(this.model, target);
    this.update({
      status: 'starting',
      error: undefined,
      exit: undefined,
      stopped_at: undefined,
      pid: undefined,
    });
    try {
      if (plan) await this.startProcess(plan, options);
      else await this.waitExternal(options.signal);
      if (this.backend.afterStart) {
        await this.backend.afterStart(
          this.info,
          this.model,
          options.ctx ?? this.stageContext(options.signal),
        );
      }
    } catch (error) {
      const failure = this.failureError(error);
      await this.supervisor?.stop(2_000);
      this.sink.write('berth', `start failed: [${failure.code}] ${failure.message}`);
      this.update({ status: 'failed', error: failure.toJSON(), stopped_at: new Date().toISOString() });
      throw failure;
    }
    this.sink.write('berth', `running at ${this.info.base_url}`);
    this.update({ status: 'running', started_at: new Date().toISOString() });
    return this.info;
  }

  /** Stops it (backend cleanup first), cancelling any pending automatic restart. */
  async stop(graceMs?: number): Promise<ServerInfo> {
    this.pendingRestart?.cancel();
    this.pendingRestart = undefined;
    const alive = this.supervisor && ['starting', 'running', 'stopping'].includes(this.supervisor.status);
    if (!alive && !this.live) return this.info;
    this.update({ status: 'stopping' });
    if (this.backend.beforeStop) {
      try {
        await this.backend.beforeStop(this.info);
      } catch (error) {
        this.sink.write('berth', `backend clean-up before stop failed: ${(error as Error).message}`);
      }
    }
    const exit = await this.supervisor?.stop(graceMs);
    this.sink.write('berth', 'stopped');
    this.update({ status: 'stopped', stopped_at: new Date().toISOString(), ...(exit ? { exit } : {}) });
    return this.info;
  }

  /** Takes over a live process left by an earlier Berth. */
  adopt(pid: number): void {
    this.attach(new Supervisor(this.sink, this.host.env)).adopt(pid);
  }

  /** Lets go of the process without stopping it (Berth quits, the user keeps servers running). */
  detach(): void {
    this.pendingRestart?.cancel();
    this.supervisor?.detach();
    for (const off of this.unsubscribe) off();
  }

  private async startProcess(plan: LaunchPlan, options: LaunchOptions): Promise<void> {
    const supervisor = this.attach(new Supervisor(this.sink, this.host.env));
    const deadline = options.startupDeadlineMs ?? plan.startupDeadlineMs;
    const started = supervisor.start(
      { ...plan, startupDeadlineMs: deadline },
      { ready: (signal) => this.backend.health(this.info, signal), signal: options.signal, gpus: this.gpus },
    );
    this.sink.origin = `[${this.info.server_type} ${this.info.name} pid ${supervisor.pid ?? '?'}]`;
    this.update({ pid: supervisor.pid, command: [plan.command, ...plan.args] });
    await started;
  }

  private attach(supervisor: Supervisor): Supervisor {
    for (const off of this.unsubscribe) off();
    this.supervisor = supervisor;
    this.unsubscribe = [supervisor.on('crash', (exit) => this.onCrash(exit))];
    return supervisor;
  }

  private async waitExternal(signal?: AbortSignal): Promise<void> {
    const end = Date.now() + EXTERNAL_READY_MS;
    while (Date.now() < end) {
      if (signal?.aborted) throw new StartFailure('aborted', 'The start was cancelled');
      if (await this.backend.health(this.info, AbortSignal.timeout(2_000)).catch(() => false)) return;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    throw new StartFailure('timeout', `The server at ${this.info.base_url} did not answer as ready`);
  }

  private onCrash(exit: ExitInfo): void {
    const tail = this.sink.tail(FAILURE_TAIL_LINES);
    const classified = this.backend.classifyFailure(lines(tail), this.model);
    const how = exit.signal ? `signal ${exit.signal}` : `exit code ${exit.code ?? 'unknown'}`;
    const error = withTail(
      classified ??
        new BerthError(
          'SERVER_CRASHED',
          `${this.info.name} stopped unexpectedly (${how})`,
          'The log tail shows what it printed last; restart it from the servers list.',
        ),
      tail,
      exit,
    );
    const delay = this.info.auto_restart
      ? nextRestartDelay(this.restartHistory, this.host.clock.now())
      : undefined;
    this.update({ status: 'crashed', exit, error: error.toJSON(), stopped_at: new Date().toISOString() });
    this.host.emit({
      type: 'server.crashed',
      server_id: this.info.id,
      name: this.info.name,
      will_restart: delay !== undefined,
      ...(delay !== undefined ? { restart_in_ms: delay } : {}),
    });
    if (delay !== undefined) this.scheduleRestart(delay);
    else if (this.info.auto_restart) this.sink.write('berth', 'auto-restart budget spent (5 in 10 minutes)');
  }

  private scheduleRestart(delay: number): void {
    this.sink.write('berth', `restarting in ${delay} ms`);
    this.pendingRestart = this.host.clock.setTimeout(() => {
      this.pendingRestart = undefined;
      this.restartHistory.push(this.host.clock.now());
      this.update({ restarts: this.info.restarts + 1 });
      void this.host
        .repickPort(this)
        .then((port) => {
          if (port !== this.info.port) this.update(urls(this.info.host, port));
          return this.launch();
        })
        .catch(() => {
          const next = nextRestartDelay(this.restartHistory, this.host.clock.now());
          if (next !== undefined && this.info.status === 'failed') this.scheduleRestart(next);
        });
    }, delay);
  }

  private failureError(error: unknown): BerthError {
    const tail = this.sink.tail(FAILURE_TAIL_LINES);
    if (error instanceof StartFailure) {
      if (error.kind === 'aborted') return new BerthError('CANCELLED', 'The start was cancelled');
      if (error.kind === 'timeout') {
        return withTail(
          new BerthError(
            'STARTUP_TIMEOUT',
            `${this.info.name} did not become ready in time: ${error.message}`,
            'Large models can take minutes to load; check the log tail, then try again.',
          ),
          tail,
        );
      }
      const classified = this.backend.classifyFailure(lines(tail), this.model);
      return withTail(
        classified ??
          new BerthError(
            'SERVER_START_FAILED',
            `${this.info.name} ${error.message.replace(/^The server /, '')}`,
            'The log tail shows why; fix the cause and deploy again.',
          ),
        tail,
        error.exit,
      );
    }
    if (error instanceof BerthError) return error;
    return new BerthError('SERVER_START_FAILED', (error as Error).message ?? String(error));
  }

  private stageContext(signal?: AbortSignal): StageContext {
    return {
      signal: signal ?? new AbortController().signal,
      stage: () => {},
      progress: () => {},
      log: (line, stream) => this.sink.write(stream ?? 'berth', line),
    };
  }
}

/** base_url and openai_base_url for a host and port. */
export function urls(host: string, port: number): Pick<ServerInfo, 'port' | 'base_url' | 'openai_base_url'> {
  const base = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  return { port, base_url: base, openai_base_url: `${base}/v1` };
}

function lines(tail: LogLine[]): string[] {
  return tail.map((l) => l.line);
}

function withTail(error: BerthError, tail: LogLine[], exit?: ExitInfo): BerthError {
  const details = { ...error.details, log_tail: lines(tail), ...(exit ? { exit } : {}) };
  return new BerthError(error.code, error.message, error.hint, details);
}
