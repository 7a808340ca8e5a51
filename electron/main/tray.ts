import { join } from 'node:path';
import { Menu, nativeImage, Tray } from 'electron';
import type { Core } from '../core/app.js';
import { appRoot } from '../core/version.js';

/** The system-tray icon and its menu. */
export function createTray(core: Core, show: () => void, quit: () => void): Tray {
  const tray = new Tray(nativeImage.createFromPath(join(appRoot(), 'resources', 'tray.png')));
  tray.setToolTip('Berth');
  tray.setContextMenu(
    Menu.buildFromTemplate([
      { label: 'Show Berth', click: show },
      { type: 'separator' },
      { label: 'Quit', click: quit },
    ]),
  );
  tray.on('click', show);
  core.onClose(() => tray.destroy());
  return tray;
}
