import { create } from 'zustand';
import type { LogLine } from '../../../shared/servers.js';
import { getApi } from '../api/index.js';
import { onCoreEvents } from './connect.js';

const LIMIT = 5_000;

interface ServerLogsState {
  /** Logs of the servers whose log panel is open, kept current by server.log events. */
  logs: Record<string, LogLine[]>;
  open(id: string): Promise<void>;
  close(id: string): void;
}

export const useServerLogsStore = create<ServerLogsState>((set, get) => ({
  logs: {},
  async open(id) {
    set((s) => ({ logs: { ...s.logs, [id]: s.logs[id] ?? [] } }));
    const tail = await getApi().servers.logs(id, LIMIT);
    // Lines that arrived by event while the tail loaded are already in the tail.
    set((s) => ({ logs: { ...s.logs, [id]: tail } }));
  },
  close(id) {
    const { [id]: _gone, ...rest } = get().logs;
    set({ logs: rest });
  },
}));

onCoreEvents((events) => {
  const open = useServerLogsStore.getState().logs;
  let next: Record<string, LogLine[]> | undefined;
  for (const e of events) {
    if (e.type !== 'server.log' || !open[e.server_id]) continue;
    next ??= { ...open };
    const lines = next[e.server_id] === open[e.server_id] ? open[e.server_id]!.slice() : next[e.server_id]!;
    lines.push(e.log);
    if (lines.length > LIMIT) lines.splice(0, lines.length - LIMIT);
    next[e.server_id] = lines;
  }
  if (next) useServerLogsStore.setState({ logs: next });
});
