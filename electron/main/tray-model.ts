import type { BerthEvent } from '../../shared/events.js';
import type { ServerInfo } from '../../shared/servers.js';

// Pure functions of server state: what the tray shows and which notifications fire. No electron import, so
// they are unit-tested under plain Node; tray.ts turns them into Electron menus and notifications.

export type TrayIconState = 'idle' | 'running' | 'error';

/** A menu entry, free of Electron types. `action` names what tray.ts does on click. */
export interface TrayItem {
  label: string;
  enabled?: boolean;
  action?: TrayAction;
  submenu?: TrayItem[];
  separator?: boolean;
}

export type TrayAction =
  | { kind: 'show' }
  | { kind: 'quit' }
  | { kind: 'deploy-again' }
  | { kind: 'stop'; serverId: string }
  | { kind: 'restart'; serverId: string }
  | { kind: 'copy-url'; url: string }
  | { kind: 'open-logs'; serverId: string };

const STATUS_MARK: Record<ServerInfo['status'], string> = {
  running: '●',
  starting: '◐',
  stopping: '◑',
  stopped: '○',
  crashed: '✕',
  failed: '✕',
};

/** The tray icon: red when a server crashed or failed, green while any runs, grey otherwise. */
export function trayIconState(servers: ServerInfo[]): TrayIconState {
  if (servers.some((s) => s.status === 'crashed' || s.status === 'failed')) return 'error';
  if (servers.some((s) => s.status === 'running' || s.status === 'starting')) return 'running';
  return 'idle';
}

/** The tooltip: how many servers run. */
export function trayTooltip(servers: ServerInfo[]): string {
  const running = servers.filter((s) => s.status === 'running').length;
  return running === 0
    ? 'Berth: no servers running'
    : `Berth: ${running} server${running === 1 ? '' : 's'} running`;
}

/** The tray menu: each server with its status and controls, Deploy again, Show Berth, Quit. */
export function trayMenu(servers: ServerInfo[], lastDeployLabel?: string): TrayItem[] {
  const sorted = [...servers].sort((a, b) => a.name.localeCompare(b.name));
  const serverItems: TrayItem[] =
    sorted.length === 0
      ? [{ label: 'No servers', enabled: false }]
      : sorted.map((s) => {
          const live = s.status === 'running' || s.status === 'starting';
          return {
            label: `${STATUS_MARK[s.status]} ${s.name} (${s.server_type}, ${s.status}) :${s.port}`,
            submenu: [
              { label: 'Stop', enabled: live, action: { kind: 'stop', serverId: s.id } },
              { label: live ? 'Restart' : 'Start', action: { kind: 'restart', serverId: s.id } },
              { label: 'Copy URL', action: { kind: 'copy-url', url: s.openai_base_url } },
              { label: 'Open logs', action: { kind: 'open-logs', serverId: s.id } },
            ],
          };
        });
  return [
    ...serverItems,
    { label: '', separator: true },
    {
      label: lastDeployLabel ? `Deploy again: ${lastDeployLabel}` : 'Deploy again',
      enabled: Boolean(lastDeployLabel),
      action: { kind: 'deploy-again' },
    },
    { label: 'Show Berth', action: { kind: 'show' } },
    { label: '', separator: true },
    { label: 'Quit Berth', action: { kind: 'quit' } },
  ];
}

/** A desktop notification for an event worth interrupting the user for, or undefined. */
export function notificationFor(
  event: BerthEvent,
  servers: ReadonlyMap<string, ServerInfo>,
): { title: string; body: string } | undefined {
  switch (event.type) {
    case 'deployment.stage':
      if (event.stage === 'quantize' && event.state === 'done')
        return { title: 'Conversion finished', body: 'The GGUF is ready.' };
      // the quality stage (when on) runs between conversion and start: its verdict is worth a glance
      if (event.stage === 'quality' && event.state === 'done' && event.detail)
        return { title: 'Quality measured', body: event.detail };
      return undefined;
    case 'server.status': {
      const before = servers.get(event.server.id);
      if (event.server.status === 'running' && before?.status !== 'running') {
        return { title: `${event.server.name} is ready`, body: event.server.openai_base_url };
      }
      return undefined;
    }
    case 'server.crashed':
      return {
        title: `${event.name} crashed`,
        body: event.will_restart
          ? `Restarting in ${Math.round((event.restart_in_ms ?? 0) / 1000)} s.`
          : 'Auto-restart is off or gave up; see its log in Berth.',
      };
    default:
      return undefined;
  }
}

/** What quitting does: ask when servers run and the user did not choose to keep them. */
export function quitQuestion(servers: ServerInfo[], keepOnQuit: boolean): string | undefined {
  const live = servers.filter((s) => s.status === 'running' || s.status === 'starting');
  if (live.length === 0 || keepOnQuit) return undefined;
  return `${live.length} server${live.length === 1 ? ' is' : 's are'} running (${live.map((s) => s.name).join(', ')}). Stop ${live.length === 1 ? 'it' : 'them'} and quit?`;
}
