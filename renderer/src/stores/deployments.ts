import { create } from 'zustand';
import type { DeployRequest, DeployStage, Quantization } from '../../../shared/deploy.js';
import { DeployStageSchema } from '../../../shared/deploy.js';
import type { DeploymentInfo, StageState } from '../../../shared/deployments.js';
import type { BerthErrorShape } from '../../../shared/errors.js';
import type { BerthEvent, Progress } from '../../../shared/events.js';
import type { LogLine } from '../../../shared/servers.js';
import { getApi } from '../api/index.js';
import { onCoreEvents } from './connect.js';

/** What the deploy form was opened for (set by the checkpoint page's "Deploy…" button). */
export interface DeployTarget {
  job_id?: string;
  model_path?: string;
  checkpoint_path?: string;
  label: string;
  /** A LoRA adapter: the base it names, and the folder Berth found for it (if any). */
  adapter?: { base_model: string; base_model_path?: string; rank: number };
  /** Preset by compare-quants' "Deploy" on a row: the built-in engine with this GGUF type. */
  quantization?: Quantization;
}

/** A deployment as the window follows it: stages, progress per stage, and its log lines. */
export interface DeploymentView {
  id: string;
  request: DeployRequest;
  label: string;
  status: DeploymentInfo['status'];
  stages: Record<DeployStage, StageState>;
  /** What a stage found or why it was skipped, and the error of one that failed on its own (quality). */
  notes: Partial<Record<DeployStage, { detail?: string; error?: BerthErrorShape }>>;
  progress: Partial<Record<DeployStage, Progress & { started_at: number }>>;
  logs: LogLine[];
  error?: { code: string; message: string; hint?: string };
  result?: DeploymentInfo['result'];
  started_at: number;
}

interface DeploymentsState {
  target: DeployTarget | undefined;
  deployments: Record<string, DeploymentView>;
  /** The deployment the progress screen shows. */
  current: string | undefined;
  setTarget(target: DeployTarget | undefined): void;
  start(request: DeployRequest, label: string): Promise<string>;
  cancel(id: string): Promise<void>;
  skipQuality(id: string): Promise<void>;
  apply(events: BerthEvent[]): void;
}

const LOG_LIMIT = 200_000;
const pendingStages = () =>
  Object.fromEntries(DeployStageSchema.options.map((s) => [s, 'pending'])) as Record<DeployStage, StageState>;

/** Deployments started from this window, fed by deployment.* events. */
export const useDeploymentsStore = create<DeploymentsState>((set, get) => ({
  target: undefined,
  deployments: {},
  current: undefined,
  setTarget: (target) => set({ target }),
  async start(request, label) {
    const { deployment_id } = await getApi().deployments.start(request);
    set((s) => ({
      current: deployment_id,
      deployments: {
        ...s.deployments,
        [deployment_id]: s.deployments[deployment_id] ?? {
          id: deployment_id,
          request,
          label,
          status: 'pending',
          stages: pendingStages(),
          notes: {},
          progress: {},
          logs: [],
          started_at: Date.now(),
        },
      },
    }));
    return deployment_id;
  },
  async cancel(id) {
    await getApi().deployments.cancel(id);
  },
  async skipQuality(id) {
    await getApi().deployments.skipQuality(id);
  },
  apply(events) {
    const relevant = events.filter((e) => e.type.startsWith('deployment.'));
    if (relevant.length === 0) return;
    const deployments = { ...get().deployments };
    const touched = new Set<string>();
    for (const event of relevant) {
      if (!('deployment_id' in event)) continue;
      const existing = deployments[event.deployment_id];
      if (!existing) continue; // started elsewhere (CLI, another window): the Servers page shows its result
      const d = touched.has(event.deployment_id)
        ? existing
        : {
            ...existing,
            stages: { ...existing.stages },
            notes: { ...existing.notes },
            progress: { ...existing.progress },
            logs: existing.logs.slice(),
          };
      touched.add(event.deployment_id);
      deployments[event.deployment_id] = d;
      if (event.type === 'deployment.stage') {
        d.stages[event.stage] = event.state;
        if (event.detail || event.error)
          d.notes[event.stage] = {
            ...(event.detail ? { detail: event.detail } : {}),
            ...(event.error ? { error: event.error } : {}),
          };
      } else if (event.type === 'deployment.progress') {
        const prev = d.progress[event.progress.stage];
        d.progress[event.progress.stage] = { ...event.progress, started_at: prev?.started_at ?? Date.now() };
      } else if (event.type === 'deployment.log') {
        d.logs.push(event.log);
        if (d.logs.length > LOG_LIMIT) d.logs.splice(0, d.logs.length - LOG_LIMIT);
      } else if (event.type === 'deployment.status') {
        d.status = event.status;
        if (event.error) d.error = event.error;
        if (event.result) d.result = event.result;
      }
    }
    set({ deployments });
  },
}));

onCoreEvents((events) => useDeploymentsStore.getState().apply(events));
