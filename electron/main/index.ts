import { rmSync, writeFileSync } from 'node:fs';
import { app, BrowserWindow, dialog } from 'electron';
import { type ApiServer, startApiServer } from '../core/api/server.js';
import { type Core, createCore } from '../core/app.js';
import { resolveHome } from '../core/paths.js';
import { registerIpc } from './ipc.js';
import { createElectronStore } from './store.js';
import { createTray } from './tray.js';
import { createMainWindow, isOwnPage } from './window.js';

// The Electron shell: window, tray, dialogs and IPC over the same core that runs headless.
const home = resolveHome(process.env, app.getPath('userData'));
app.setPath('userData', home);
let core: Core | undefined;
let api: ApiServer | undefined;
let win: BrowserWindow | undefined;
let quitting = false;

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  app.on('second-instance', () => showWindow());
  app.whenReady().then(start, (error) => {
    dialog.showErrorBox('Berth could not start', String(error));
    app.exit(1);
  });
}

async function start(): Promise<void> {
  core = await createCore({ home, mode: 'electron', store: createElectronStore(home) });
  const settings = core.settings.get();
  try {
    api = await startApiServer(core, { host: settings.api.host, port: settings.api.port });
    core.apiUrl = api.url;
    writeFileSync(
      core.paths.apiInfoFile,
      JSON.stringify({ url: api.url, pid: process.pid, mode: 'electron' }),
      {
        mode: 0o600,
      },
    );
  } catch (error) {
    // The window works without the local API (e.g. its port is taken); scripts get a clear message instead.
    process.stderr.write(`[berth] local API not started: ${String(error)}\n`);
  }
  registerIpc(
    core,
    {
      'jobs.pickFolder': async () => {
        const result = await dialog.showOpenDialog({ properties: ['openDirectory'] });
        return result.canceled ? undefined : result.filePaths[0];
      },
    },
    (sender) => isOwnPage(sender.getURL()),
  );
  const c = core;
  c.bus.subscribe((event) => {
    for (const w of BrowserWindow.getAllWindows()) w.webContents.send('berth:event', event);
  });
  createTray(c, showWindow, () => app.quit());
  showWindow();
}

function showWindow(): void {
  if (!win || win.isDestroyed()) {
    win = createMainWindow();
    // Closing the window keeps Berth (and its servers) in the tray.
    win.on('close', (event) => {
      if (!quitting) {
        event.preventDefault();
        win?.hide();
      }
    });
  }
  win.show();
  win.focus();
}

app.on('before-quit', (event) => {
  if (quitting || !core) return;
  event.preventDefault();
  quitting = true;
  const c = core;
  void (async () => {
    try {
      await api?.close();
      rmSync(c.paths.apiInfoFile, { force: true });
      await c.close();
    } finally {
      app.exit(0);
    }
  })();
});
app.on('window-all-closed', () => {
  // Stay in the tray.
});
