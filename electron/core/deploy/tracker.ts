import { randomUUID } from 'node:crypto';
import type { DeployResponse, DeployServerType, DeployStage, ServerType } from '../../../shared/deploy.js';
import { DeployStageSchema } from '../../../shared/deploy.js';
import type { DeploymentInfo, StageState } from '../../../shared/deployments.js';
import type { BerthErrorShape } from '../../../shared/errors.js';
import type { BerthEvent, Progress } from '../../../shared/events.js';
import type { EventBus } from '../events.js';

/** Events of one deployment kept for late followers (an SSE client that connects mid-conversion). */
const HISTORY_LIMIT = 5_000;

/**
 * One deployment's state and event history. Every change goes to the core bus (so the window and every SSE
 * client see it) and into a bounded history that a follower connecting late replays first.
 */
export class DeploymentTracker {
  readonly id = randomUUID();
  readonly controller = new AbortController();
  /** The quality stage's own controller while it measures (a skip aborts it alone). */
  qualityController: AbortController | undefined;
  readonly info: DeploymentInfo;
  private readonly history: BerthEvent[] = [];
  private readonly followers = new Set<(event: BerthEvent) => void>();
  private progressByStage = new Map<DeployStage, number>();
  readonly done: Promise<DeployResponse>;
  private settle!: { resolve(r: DeployResponse): void; reject(e: unknown): void };

  constructor(
    private readonly bus: EventBus,
    requested: DeployServerType,
    private readonly now: () => number,
    /** The validated request, kept so the tray's "Deploy again" can replay it. */
    readonly request?: unknown,
  ) {
    this.info = {
      id: this.id,
      requested_server_type: requested,
      status: 'pending',
      stages: Object.fromEntries(
        DeployStageSchema.options.map((s) => [s, 'pending' as StageState]),
      ) as DeploymentInfo['stages'],
      created_at: new Date(now()).toISOString(),
    };
    this.done = new Promise<DeployResponse>((resolve, reject) => {
      this.settle = { resolve, reject };
    });
    // Callers that only follow events must not trip Node's unhandled-rejection guard.
    this.done.catch(() => undefined);
  }

  get finished(): boolean {
    return (
      this.info.status === 'succeeded' || this.info.status === 'failed' || this.info.status === 'cancelled'
    );
  }

  setTarget(serverType: ServerType, name: string, modelPath: string): void {
    this.info.server_type = serverType;
    this.info.name = name;
    this.info.model_path = modelPath;
  }

  running(): void {
    this.info.status = 'running';
    this.publish({ type: 'deployment.status', deployment_id: this.id, status: 'running' });
  }

  stage(
    stage: DeployStage,
    state: 'started' | 'done' | 'skipped' | 'failed',
    note?: { detail?: string; error?: BerthErrorShape },
  ): void {
    if (this.info.stages[stage] === state) return;
    this.info.stages[stage] = state;
    if (note) this.info.stage_notes = { ...this.info.stage_notes, [stage]: note };
    this.publish({ type: 'deployment.stage', deployment_id: this.id, stage, state, ...note });
  }

  /** Marks every stage still pending as skipped (e.g. convert and quantize for vLLM). */
  skipPending(stages: DeployStage[]): void {
    for (const s of stages) if (this.info.stages[s] === 'pending') this.stage(s, 'skipped');
  }

  progress(progress: Progress): void {
    this.info.progress = progress;
    // Progress can arrive thousands of times; history keeps one per stage per percent.
    const pct = progress.total > 0 ? Math.floor((100 * progress.done) / progress.total) : 0;
    const event: BerthEvent = { type: 'deployment.progress', deployment_id: this.id, progress };
    if (this.progressByStage.get(progress.stage) !== pct) {
      this.progressByStage.set(progress.stage, pct);
      this.publish(event);
    } else {
      this.emitOnly(event);
    }
  }

  log(line: string, stream: 'stdout' | 'stderr' | 'berth' = 'berth'): void {
    this.publish({ type: 'deployment.log', deployment_id: this.id, log: { ts: this.now(), stream, line } });
  }

  succeed(result: DeployResponse): void {
    if (this.finished) return;
    this.info.status = 'succeeded';
    this.info.result = result;
    this.info.finished_at = new Date(this.now()).toISOString();
    this.publish({ type: 'deployment.status', deployment_id: this.id, status: 'succeeded', result });
    this.settle.resolve(result);
  }

  fail(error: BerthErrorShape, cancelled: boolean): void {
    if (this.finished) return;
    for (const [stage, state] of Object.entries(this.info.stages)) {
      if (state === 'started') this.stage(stage as DeployStage, 'failed');
    }
    this.info.status = cancelled ? 'cancelled' : 'failed';
    this.info.error = error;
    this.info.finished_at = new Date(this.now()).toISOString();
    this.publish({ type: 'deployment.status', deployment_id: this.id, status: this.info.status, error });
    this.settle.reject(error);
  }

  /** Replays the history, then follows live events; returns the unsubscribe function. */
  follow(listener: (event: BerthEvent) => void): () => void {
    for (const event of this.history) listener(event);
    if (this.finished) return () => undefined;
    this.followers.add(listener);
    return () => this.followers.delete(listener);
  }

  private publish(event: BerthEvent): void {
    this.history.push(event);
    if (this.history.length > HISTORY_LIMIT) this.history.splice(0, this.history.length - HISTORY_LIMIT);
    this.emitOnly(event);
  }

  private emitOnly(event: BerthEvent): void {
    this.bus.emit(event);
    for (const f of this.followers) f(event);
  }
}
