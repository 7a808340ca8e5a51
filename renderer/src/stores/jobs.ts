import { create } from 'zustand';
import type { Job } from '../../../shared/checkpoints.js';
import { getApi } from '../api/index.js';
import { onCoreEvents } from './connect.js';

interface JobsState {
  jobs: Job[];
  loaded: boolean;
  /** The run the page shows, and its selected checkpoint (relative_path). */
  selectedId: string | undefined;
  selectedCheckpoint: string | undefined;
  /** A registration in flight (the path being inspected). */
  busy: string | undefined;
  error: unknown;
  load(): Promise<void>;
  register(path: string): Promise<void>;
  select(id: string): Promise<void>;
  selectCheckpoint(relativePath: string): void;
  remove(id: string): Promise<void>;
  setError(error: unknown): void;
}

/** The checkpoint a job opens on: the best one, else the final model, else the latest step. */
export function defaultCheckpoint(job: Job): string | undefined {
  const best = job.checkpoints.find((c) => c.is_best);
  const final = job.checkpoints.find((c) => c.is_final);
  return (best ?? final ?? job.checkpoints.at(-1))?.relative_path;
}

/** Registered runs and which checkpoint the window shows; kept current by jobs.changed events. */
export const useJobsStore = create<JobsState>((set, get) => ({
  jobs: [],
  loaded: false,
  selectedId: undefined,
  selectedCheckpoint: undefined,
  busy: undefined,
  error: undefined,
  async load() {
    try {
      const jobs = await getApi().jobs.list();
      const { selectedId } = get();
      const keep = jobs.some((j) => j.id === selectedId);
      set({
        jobs,
        loaded: true,
        ...(keep
          ? {}
          : {
              selectedId: jobs[0]?.id,
              selectedCheckpoint: jobs[0] ? defaultCheckpoint(jobs[0]) : undefined,
            }),
      });
    } catch (error) {
      set({ loaded: true, error });
    }
  },
  async register(path) {
    set({ busy: path, error: undefined });
    try {
      const job = await getApi().jobs.register(path.trim());
      set((s) => ({
        jobs: [job, ...s.jobs.filter((j) => j.id !== job.id)],
        selectedId: job.id,
        selectedCheckpoint: defaultCheckpoint(job),
      }));
    } catch (error) {
      set({ error });
    } finally {
      set({ busy: undefined });
    }
  },
  async select(id) {
    const cached = get().jobs.find((j) => j.id === id);
    set({
      selectedId: id,
      selectedCheckpoint: cached ? defaultCheckpoint(cached) : undefined,
      error: undefined,
    });
    try {
      // get() re-inspects: checkpoints written since registration show up
      const job = await getApi().jobs.get(id);
      set((s) => ({
        jobs: s.jobs.map((j) => (j.id === id ? job : j)),
        selectedCheckpoint: job.checkpoints.some((c) => c.relative_path === s.selectedCheckpoint)
          ? s.selectedCheckpoint
          : defaultCheckpoint(job),
      }));
    } catch (error) {
      set({ error });
    }
  },
  selectCheckpoint: (relativePath) => set({ selectedCheckpoint: relativePath }),
  async remove(id) {
    try {
      await getApi().jobs.remove(id);
      set((s) => {
        const jobs = s.jobs.filter((j) => j.id !== id);
        const moved = s.selectedId === id;
        return {
          jobs,
          ...(moved
            ? {
                selectedId: jobs[0]?.id,
                selectedCheckpoint: jobs[0] ? defaultCheckpoint(jobs[0]) : undefined,
              }
            : {}),
        };
      });
    } catch (error) {
      set({ error });
    }
  },
  setError: (error) => set({ error }),
}));

onCoreEvents((events) => {
  if (events.some((e) => e.type === 'jobs.changed')) void useJobsStore.getState().load();
});
