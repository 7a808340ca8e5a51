import { create } from 'zustand';
import type { AppInfo, Settings, SettingsPatch } from '../../../shared/settings.js';
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
  page: Page;
  error: string | undefined;
  load(): Promise<void>;
  navigate(page: Page): void;
  updateSettings(patch: SettingsPatch): Promise<void>;
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
  page: pageFromHash(),
  error: undefined,
  async load() {
    try {
      const [info, settings] = await Promise.all([getApi().app.info(), getApi().settings.get()]);
      set({ info, settings, error: undefined });
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
      set({ settings: await getApi().settings.update(patch) });
    } catch (error) {
      set({ settings: before });
      throw error;
    }
  },
}));

window.addEventListener('popstate', () => useAppStore.setState({ page: pageFromHash() }));
