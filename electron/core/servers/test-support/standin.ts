import { resolve } from 'node:path';
import type { ServerInfo } from '../../../../shared/servers.js';
import type { Clock } from '../../clock.js';
import type { Backend, PreparedModel } from '../backend.js';
import { descendants, isAlive } from '../process-tree.js';

/** The folder holding the vLLM STAND-IN package (tests only; see test-standins/vllm/README.md). */
export const VLLM_STANDIN = resolve(import.meta.dirname, '../../../../test-standins/vllm');

/** Core env that makes `python3 -m vllm...` find the stand-in. */
export function standinEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { ...process.env, PYTHONPATH: VLLM_STANDIN, ...extra };
}

/** The backend with extra variables for the stand-in's knobs (BERTH_STANDIN_*), as a backend's additions. */
export function withStandinKnobs(backend: Backend, knobs: Record<string, string>): Backend {
  return {
    ...backend,
    launch(model, target) {
      const plan = backend.launch(model, target);
      return plan && { ...plan, env: { ...plan.env, ...knobs } };
    },
  };
}

export function preparedModel(name: string, config: PreparedModel['config'] = {}): PreparedModel {
  return { model_path: '/models/tiny-standin', model_name: name, config };
}

/** Pids the stand-in reports for its workers ("(EngineCore pid=N) ..."). */
export function workerPids(lines: string[]): number[] {
  return lines.flatMap((l) => {
    const m = /^\(EngineCore pid=(\d+)\) INFO \[berth stand-in\]/.exec(l);
    return m ? [Number(m[1])] : [];
  });
}

/** Waits until `check` holds, polling every 20 ms; throws with `what` after `timeoutMs`. */
export async function waitFor(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Every descendant of this test process that is still alive, plus any listed pid still alive. */
export function survivors(extra: Iterable<number> = []): number[] {
  return [...new Set([...descendants(process.pid), ...extra])].filter(isAlive);
}

/** The pids a server ever ran with, from its info. */
export function pidsOf(servers: ServerInfo[]): number[] {
  return servers.flatMap((s) => (s.pid ? [s.pid] : []));
}

/** A clock whose timers fire only when the test advances it (Date.now() still moves for everything else). */
export class ManualClock implements Clock {
  private offset = 0;
  private timers: Array<{ at: number; fn: () => void; cancelled: boolean }> = [];
  now(): number {
    return Date.now() + this.offset;
  }
  setTimeout(fn: () => void, ms: number) {
    const timer = { at: this.now() + ms, fn, cancelled: false };
    this.timers.push(timer);
    return {
      cancel: () => {
        timer.cancelled = true;
      },
    };
  }
  /** Pending timer delays, from now. */
  pending(): number[] {
    return this.timers.filter((t) => !t.cancelled).map((t) => t.at - this.now());
  }
  advance(ms: number): void {
    this.offset += ms;
    const due = this.timers.filter((t) => !t.cancelled && t.at <= this.now());
    this.timers = this.timers.filter((t) => !due.includes(t));
    for (const t of due) t.fn();
  }
}
