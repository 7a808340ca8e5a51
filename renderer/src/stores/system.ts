import { create } from 'zustand';
import type { SystemReport } from '../../../shared/system.js';
import { getApi } from '../api/index.js';
import { onCoreEvents } from './connect.js';

interface SystemState {
  report: SystemReport | undefined;
  loading: boolean;
  error: unknown;
  /** Loads the report (cached by the core); `refresh` detects again. */
  load(refresh?: boolean): Promise<void>;
}

/** The machine report, reloaded when the core says it changed (live VRAM while servers run). */
export const useSystemStore = create<SystemState>((set) => ({
  report: undefined,
  loading: false,
  error: undefined,
  async load(refresh = false) {
    set({ loading: true });
    try {
      set({ report: await getApi().system.get(refresh ? { refresh: true } : undefined), error: undefined });
    } catch (error) {
      set({ error });
    } finally {
      set({ loading: false });
    }
  },
}));

onCoreEvents((events) => {
  const state = useSystemStore.getState();
  if (state.report && events.some((e) => e.type === 'system.changed')) void state.load();
});
