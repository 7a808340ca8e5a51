import { create } from 'zustand';
import {
  type AppInfo,
  EXECUTABLE_SETTINGS,
  type PendingSetting,
  type Settings,
  type SettingsPatch,
} from '../../../shared/settings.js';
import { getApi } from '../api/index.js';

export type Page = 'checkpoints' | 'deploy' | 'servers' | 'playground' | 'system' | 'settings';
export const PAGES: Array<{ id: Page; label: string }> = [
  { id: 'checkpoints', label: 'Checkpoints' },
  { id: 'deploy', label: 'Deploy' },
  { id: 'servers', label: 'Servers' },
  { id: 'playground', label: 'Playground' },
  { id: 'system', label: 'System' },
  { id: 'settings', label: 'Settings' },
];

interface AppState {
  info: AppInfo | undefined;
  settings: Settings | undefined;
  /** Programs named over the local API that Berth will not run until the user applies them here. */
  pending: PendingSetting[];
  page: Page;
  error: string | undefined;
  load(): Promise<void>;
  navigate(page: Page): void;
  updateSettings(patch: SettingsPatch): Promise<void>;
  applyPending(key: PendingSetting['key']): Promise<void>;
  discardPending(key: PendingSetting['key']): Promise<void>;
}

/** The program settings a patch names with a value (not a reset to the default). */
function namedPrograms(patch: SettingsPatch): Array<[PendingSetting['key'], string]> {
  const values: Record<PendingSetting['key'], string | null | undefined> = {
    'python.vllm': patch.python?.vllm,
    'python.converter': patch.python?.converter,
    'ollama.binary': patch.ollama?.binary,
  };
  return EXECUTABLE_SETTINGS.flatMap((k) =>
    values[k] ? [[k, values[k]] as [PendingSetting['key'], string]] : [],
  );
}

function mergePatch(settings: Settings, patch: SettingsPatch): Settings {
  const next = { ...settings, ...patch } as Settings;
  for (const key of ['api', 'python', 'ollama', 'ports'] as const) {
    if (patch[key]) (next as Record<string, unknown>)[key] = { ...settings[key], ...patch[key] };
  }
  return next;
}

function pageFromHash(): Page {
  const id = window.location.hash.replace(/^#\/?/, '');
  return PAGES.some((p) => p.id === id) ? (id as Page) : 'checkpoints';
}

/** App-wide state: who we are, the settings, and which page shows. */
export const useAppStore = create<AppState>((set, get) => ({
  info: undefined,
  settings: undefined,
  pending: [],
  page: pageFromHash(),
  error: undefined,
  async load() {
    try {
      const [info, settings, pending] = await Promise.all([
        getApi().app.info(),
        getApi().settings.get(),
        getApi().settings.pending(),
      ]);
      set({ info, settings, pending, error: undefined });
    } catch (error) {
      set({ error: (error as Error).message });
    }
  },
  navigate(page) {
    if (window.location.hash !== `#/${page}`) history.pushState(null, '', `#/${page}`);
    set({ page });
  },
  async updateSettings(patch) {
    // Optimistic: the control reflects the change at once; the core's answer (or the old value on error) wins.
    const before = get().settings;
    if (before) set({ settings: mergePatch(before, patch) });
    try {
      let settings = await getApi().settings.update(patch);
      // Over HTTP (headless) a program the user typed here waits like one named by a script; the user has seen
      // it, so it is applied at once. Over IPC it is in effect already and nothing is pending.
      const pending = await getApi().settings.pending();
      for (const [key, value] of namedPrograms(patch)) {
        if (pending.some((p) => p.key === key && p.value === value))
          settings = await getApi().settings.applyPending(key);
      }
      set({ settings, pending: await getApi().settings.pending() });
    } catch (error) {
      set({ settings: before });
      throw error;
    }
  },
  async applyPending(key) {
    const settings = await getApi().settings.applyPending(key);
    set({ settings, pending: await getApi().settings.pending() });
  },
  async discardPending(key) {
    await getApi().settings.discardPending(key);
    set({ pending: await getApi().settings.pending() });
  },
}));

window.addEventListener('popstate', () => useAppStore.setState({ page: pageFromHash() }));
