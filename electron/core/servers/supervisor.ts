import { closeSync } from 'node:fs';
import { execa } from 'execa';
import { BerthError } from '../errors.js';
import type { LaunchPlan } from './backend.js';
import { childEnv } from './child-env.js';
import type { LogSink } from './log-sink.js';
import { OutputTail } from './output-tail.js';
import { descendants, groupMembers, isAlive, signalTree } from './process-tree.js';

export type ProcessStatus = 'idle' | 'starting' | 'running' | 'stopping' | 'stopped' | 'crashed' | 'failed';
export interface ExitInfo {
  code: number | null;
  signal: string | null;
}

/** Why a start did not reach "running". The child and its whole tree are gone when this is thrown. */
export class StartFailure extends Error {
  constructor(
    readonly kind: 'exited' | 'timeout' | 'aborted',
    message: string,
    readonly exit?: ExitInfo,
  ) {
    super(message);
    this.name = 'StartFailure';
  }
}

export interface StartOptions {
  /** One readiness probe; the supervisor polls it until it passes or the plan's deadline ends. */
  ready: (signal: AbortSignal) => Promise<boolean>;
  signal?: AbortSignal | undefined;
  gpus?: string | undefined;
}

interface Listeners {
  status: Set<(status: ProcessStatus) => void>;
  exit: Set<(exit: ExitInfo) => void>;
  crash: Set<(exit: ExitInfo) => void>;
}

const PROBE_TIMEOUT_MS = 2_000;
const KILL_WAIT_MS = 5_000;

/**
 * One supervisor per child process: spawns it in its own process group with an allowlisted environment, feeds
 * its output line by line into the server's log sink, reports "running" only after the readiness probe passed
 * within the plan's deadline, detects a crash from the exit event, and stops the whole process tree (SIGTERM,
 * a grace period, then SIGKILL of the group and every descendant seen).
 */
export class Supervisor {
  private state: ProcessStatus = 'idle';
  private childPid: number | undefined;
  private exitInfo: ExitInfo | undefined;
  private exited: Promise<ExitInfo> = new Promise(() => {});
  /** Descendants seen while running: workers that left the group are still killed on stop. */
  private readonly seen = new Set<number>();
  private watch: NodeJS.Timeout | undefined;
  private tails: OutputTail[] = [];
  private child: { unref(): void } | undefined;
  private readonly listeners: Listeners = { status: new Set(), exit: new Set(), crash: new Set() };

  constructor(
    private readonly sink: LogSink,
    private readonly baseEnv: NodeJS.ProcessEnv,
  ) {}

  get status(): ProcessStatus {
    return this.state;
  }
  get pid(): number | undefined {
    return this.childPid;
  }
  get exit(): ExitInfo | undefined {
    return this.exitInfo;
  }

  on<K extends keyof Listeners>(event: K, fn: Parameters<Listeners[K]['add']>[0]): () => void {
    const set = this.listeners[event] as Set<typeof fn>;
    set.add(fn);
    return () => set.delete(fn);
  }

  /** Spawns the plan and resolves once ready; rejects with StartFailure (tree gone) or ALREADY_RUNNING. */
  async start(plan: LaunchPlan, options: StartOptions): Promise<void> {
    if (this.state === 'starting' || this.state === 'running' || this.state === 'stopping') {
      throw new BerthError('ALREADY_RUNNING', `The server is already ${this.state}`, 'Stop it first.');
    }
    this.exitInfo = undefined;
    this.seen.clear();
    this.setStatus('starting');
    this.openTails();
    const outFd = this.tails[0]!.childFd();
    const errFd = this.tails[1]!.childFd();
    // With reject: false execa never throws here; spawn failures arrive as the 'error' event below.
    const child = execa(plan.command, plan.args, {
      ...(plan.cwd ? { cwd: plan.cwd } : {}),
      env: childEnv(this.baseEnv, plan.env, options.gpus),
      extendEnv: false,
      detached: true,
      cleanup: false,
      // Files, not pipes: the server outlives Berth when the user keeps it running (see OutputTail).
      stdin: 'ignore',
      // execa hands a descriptor number straight to spawn(); its types admit only the literals 3-9.
      stdout: outFd as 3,
      stderr: errFd as 3,
      buffer: false,
      reject: false,
    });
    // The child has its own copies now.
    closeSync(outFd);
    closeSync(errFd);
    this.childPid = child.pid;
    this.child = child;
    for (const tail of this.tails) tail.start();
    this.exited = new Promise<ExitInfo>((resolve) => {
      let done = false;
      const finish = (exit: ExitInfo) => {
        if (done) return;
        done = true;
        // The last lines are in the files by now.
        for (const tail of this.tails) tail.drain();
        resolve(exit);
      };
      child.on('exit', (code, signal) => finish({ code, signal }));
      child.on('error', (error) => {
        this.sink.write('berth', `could not start ${plan.command}: ${error.message}`);
        finish({ code: null, signal: null });
      });
    });
    void child.catch(() => undefined);
    void this.exited.then((exit) => this.onExit(exit));
    this.sink.write('berth', `started ${[plan.command, ...plan.args].join(' ')} (pid ${child.pid ?? '?'})`);
    await this.waitReady(plan.startupDeadlineMs, options);
  }

  /** Takes over a server started by an earlier Berth: no output, liveness polled instead of the exit event. */
  adopt(pid: number): void {
    this.childPid = pid;
    this.exitInfo = undefined;
    this.setStatus('running');
    // It still writes to the files an earlier Berth gave it: follow them from here on.
    this.openTails();
    for (const tail of this.tails) tail.start();
    this.exited = new Promise<ExitInfo>((resolve) => {
      const poll = setInterval(() => {
        if (isAlive(pid)) return;
        clearInterval(poll);
        resolve({ code: null, signal: null });
      }, 250);
      poll.unref();
    });
    void this.exited.then((exit) => this.onExit(exit));
    this.startWatch();
  }

  /** Stops the whole tree: SIGTERM to the group, `graceMs`, then SIGKILL to the group and every descendant. */
  async stop(graceMs = 10_000): Promise<ExitInfo | undefined> {
    const pid = this.childPid;
    if (pid === undefined || this.state === 'idle') return this.exitInfo;
    if (this.state !== 'stopping') this.setStatus('stopping');
    await this.killTree(graceMs);
    if (this.state === 'stopping') this.setStatus('stopped');
    return this.exitInfo;
  }

  /** Stops watching without touching the process (Berth quits but the user keeps servers running). */
  detach(): void {
    // The child handle would keep Node's event loop (and so `berth serve`) alive after everything else closed.
    this.child?.unref();
    this.child = undefined;
    this.stopWatch();
    this.closeTails();
    this.setStatus('idle');
    for (const set of Object.values(this.listeners)) set.clear();
  }

  private async waitReady(deadlineMs: number, options: StartOptions): Promise<void> {
    const started = Date.now();
    const exited = this.exited.then((exit) => ({ exit }));
    const aborted = new Promise<'aborted'>((resolve) => {
      if (options.signal?.aborted) resolve('aborted');
      options.signal?.addEventListener('abort', () => resolve('aborted'), { once: true });
    });
    for (let attempt = 0; ; attempt++) {
      const remaining = deadlineMs - (Date.now() - started);
      if (remaining <= 0) {
        await this.failStart();
        throw new StartFailure('timeout', `The server did not become ready within ${deadlineMs} ms`);
      }
      const probe = AbortSignal.timeout(Math.min(PROBE_TIMEOUT_MS, remaining));
      const outcome = await Promise.race([
        options.ready(probe).catch(() => false),
        exited,
        aborted,
        idle(Math.min(PROBE_TIMEOUT_MS, remaining) + 50).then(() => false),
      ]);
      if (outcome === true && this.state === 'starting') {
        // What it printed before it answered belongs before "running" in its log.
        for (const tail of this.tails) tail.poll();
        this.setStatus('running');
        this.startWatch();
        return;
      }
      if (outcome === 'aborted') {
        await this.failStart();
        throw new StartFailure('aborted', 'The start was cancelled');
      }
      if (typeof outcome === 'object') {
        await this.failStart();
        const how = outcome.exit.signal ? `signal ${outcome.exit.signal}` : `exit code ${outcome.exit.code}`;
        throw new StartFailure('exited', `The server exited during start-up (${how})`, outcome.exit);
      }
      // Poll fast at first (small servers are up in well under a second), then settle to a calmer pace.
      const wait = Math.min(attempt < 40 ? 25 : 250, deadlineMs - (Date.now() - started));
      const next = await Promise.race([idle(Math.max(wait, 0)).then(() => 'tick' as const), exited, aborted]);
      if (next !== 'tick') continue;
    }
  }

  private async failStart(): Promise<void> {
    await this.killTree(2_000);
    this.setStatus('failed');
  }

  private onExit(exit: ExitInfo): void {
    this.exitInfo = exit;
    this.closeTails();
    this.stopWatch();
    for (const fn of this.listeners.exit) fn(exit);
    const how = exit.signal ? `signal ${exit.signal}` : `exit code ${exit.code ?? 'unknown'}`;
    this.sink.write('berth', `process ${this.childPid ?? '?'} exited (${how})`);
    if (this.state === 'running') {
      this.setStatus('crashed');
      for (const fn of this.listeners.crash) fn(exit);
      // The leader died on its own; its workers must not linger.
      void this.killTree(0);
    }
  }

  private async killTree(graceMs: number): Promise<void> {
    const pid = this.childPid;
    if (pid === undefined) return;
    this.refreshSeen();
    const leaderAlive = () => this.exitInfo === undefined && isAlive(pid);
    const treeAlive = () =>
      leaderAlive() || groupMembers(pid).length > 0 || [...this.seen].some((p) => isAlive(p));
    if (!treeAlive()) return;
    if (graceMs > 0) {
      signalTree(pid, this.seen, 'SIGTERM');
      await waitUntil(
        () => !treeAlive(),
        graceMs,
        () => this.refreshSeen(),
      );
    }
    if (treeAlive()) {
      this.refreshSeen();
      if (graceMs > 0) this.sink.write('berth', `still running after ${graceMs} ms: sending SIGKILL`);
      signalTree(pid, [...this.seen, ...groupMembers(pid)], 'SIGKILL');
      await waitUntil(() => !treeAlive(), KILL_WAIT_MS);
    }
    // Dead is not yet reaped: wait for the exit event so the exit status and the last lines are in.
    if (this.exitInfo === undefined) await Promise.race([this.exited, sleep(KILL_WAIT_MS)]);
  }

  private openTails(): void {
    this.closeTails();
    this.tails = [
      new OutputTail(`${this.sink.path}.stdout`, (l) => this.sink.write('stdout', l)),
      new OutputTail(`${this.sink.path}.stderr`, (l) => this.sink.write('stderr', l)),
    ];
  }

  private closeTails(): void {
    for (const tail of this.tails) {
      tail.drain();
      tail.close();
    }
    this.tails = [];
  }

  private refreshSeen(): void {
    const pid = this.childPid;
    if (pid === undefined || !isAlive(pid)) return;
    for (const p of descendants(pid)) this.seen.add(p);
  }

  private startWatch(): void {
    this.refreshSeen();
    this.watch = setInterval(() => this.refreshSeen(), 2_000);
    this.watch.unref();
  }

  private stopWatch(): void {
    if (this.watch) clearInterval(this.watch);
    this.watch = undefined;
  }

  private setStatus(status: ProcessStatus): void {
    this.state = status;
    for (const fn of this.listeners.status) fn(status);
  }
}

/** A timer that does not keep the process alive (used inside races that other events may win). */
function idle(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function waitUntil(done: () => boolean, timeoutMs: number, each?: () => void): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!done() && Date.now() < end) {
    each?.();
    await sleep(25);
  }
}
