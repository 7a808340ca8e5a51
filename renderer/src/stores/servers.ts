import { create } from 'zustand';
import type { BerthEvent } from '../../../shared/events.js';
import type { ServerInfo } from '../../../shared/servers.js';
import { getApi } from '../api/index.js';

interface ServersState {
  servers: Record<string, ServerInfo>;
  loaded: boolean;
  error: string | undefined;
  load(): Promise<void>;
  apply(event: BerthEvent): void;
}

/** Every server Berth knows, kept current by server.* events. */
export const useServersStore = create<ServersState>((set) => ({
  servers: {},
  loaded: false,
  error: undefined,
  async load() {
    try {
      const list = await getApi().servers.list();
      set({ servers: Object.fromEntries(list.map((s) => [s.id, s])), loaded: true, error: undefined });
    } catch (error) {
      set({ loaded: true, error: (error as Error).message });
    }
  },
  apply(event) {
    if (event.type === 'server.status') {
      set((s) => ({ servers: { ...s.servers, [event.server.id]: event.server } }));
    } else if (event.type === 'server.removed') {
      set((s) => {
        const { [event.server_id]: _gone, ...rest } = s.servers;
        return { servers: rest };
      });
    }
  },
}));
