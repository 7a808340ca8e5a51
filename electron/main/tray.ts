import { join } from 'node:path';
import {
  clipboard,
  Menu,
  type MenuItemConstructorOptions,
  Notification,
  nativeImage,
  shell,
  Tray,
} from 'electron';
import type { ServerInfo } from '../../shared/servers.js';
import type { Core } from '../core/app.js';
import { appRoot } from '../core/version.js';
import {
  notificationFor,
  type TrayAction,
  type TrayItem,
  trayIconState,
  trayMenu,
  trayTooltip,
} from './tray-model.js';

const ICONS = { idle: 'tray.png', running: 'tray-running.png', error: 'tray-error.png' } as const;

/** What the tray needs from the shell besides the core. */
export interface TrayHost {
  show(): void;
  quit(): void;
  /** Redeploys the last deployment, if there was one. */
  deployAgain(): void;
  lastDeployLabel(): string | undefined;
}

/**
 * The system-tray icon and menu, rebuilt from the pure tray model whenever a server changes, and the desktop
 * notifications the model asks for.
 */
export function createTray(core: Core, host: TrayHost): Tray {
  const tray = new Tray(nativeImage.createFromPath(join(appRoot(), 'resources', ICONS.idle)));
  const known = new Map<string, ServerInfo>(core.servers.list().map((s) => [s.id, s]));

  const run = (action: TrayAction) => {
    switch (action.kind) {
      case 'show':
        return host.show();
      case 'quit':
        return host.quit();
      case 'deploy-again':
        return host.deployAgain();
      case 'stop':
        return void core.servers.stop(action.serverId).catch(notifyError);
      case 'restart':
        return void core.servers.restart(action.serverId).catch(notifyError);
      case 'copy-url':
        return clipboard.writeText(action.url);
      case 'open-logs':
        return void shell.openPath(core.paths.logsDir);
    }
  };
  const toElectron = (items: TrayItem[]): MenuItemConstructorOptions[] =>
    items.map((item) =>
      item.separator
        ? { type: 'separator' }
        : {
            label: item.label,
            enabled: item.enabled ?? true,
            ...(item.submenu ? { submenu: toElectron(item.submenu) } : {}),
            ...(item.action ? { click: () => run(item.action!) } : {}),
          },
    );
  const refresh = () => {
    const servers = [...known.values()];
    tray.setImage(nativeImage.createFromPath(join(appRoot(), 'resources', ICONS[trayIconState(servers)])));
    tray.setToolTip(trayTooltip(servers));
    tray.setContextMenu(Menu.buildFromTemplate(toElectron(trayMenu(servers, host.lastDeployLabel()))));
  };

  const unsubscribe = core.bus.subscribe((event) => {
    const note = notificationFor(event, known);
    if (note && Notification.isSupported()) new Notification(note).show();
    if (event.type === 'server.status') known.set(event.server.id, event.server);
    else if (event.type === 'server.removed') known.delete(event.server_id);
    else if (event.type !== 'deployment.status') return;
    refresh();
  });
  tray.on('click', host.show);
  refresh();
  core.onClose(() => {
    unsubscribe();
    tray.destroy();
  });
  return tray;
}

function notifyError(error: unknown): void {
  if (Notification.isSupported()) new Notification({ title: 'Berth', body: (error as Error).message }).show();
}
