import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { app, BrowserWindow, dialog } from 'electron';
import { type ApiServer, startApiServer } from '../core/api/server.js';
import { type Core, createCore } from '../core/app.js';
import { resolveHome } from '../core/paths.js';
import { registerIpc } from './ipc.js';
import { createElectronStore } from './store.js';
import { createTray } from './tray.js';
import { quitQuestion } from './tray-model.js';
import { createMainWindow, isOwnPage } from './window.js';
import { loadBounds, saveBounds } from './window-state.js';

// The Electron shell: window, tray, dialogs and IPC over the same core that runs headless.
const home = resolveHome(process.env, app.getPath('userData'));
app.setPath('userData', home);
let core: Core | undefined;
const store = createElectronStore(home);
let lastDeploy: { request: unknown; label: string } | undefined;
let api: ApiServer | undefined;
let win: BrowserWindow | undefined;
let quitting = false;

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  // A second launch focuses this one; a folder passed to it (e.g. `berth-app ./output`) is opened.
  app.on('second-instance', (_event, argv) => {
    showWindow();
    const path = argv.slice(1).find((a) => !a.startsWith('-') && existsSync(a) && a !== app.getAppPath());
    if (path && core) void core.jobs.register(path).catch(() => undefined);
  });
  app.whenReady().then(start, (error) => {
    dialog.showErrorBox('Berth could not start', String(error));
    app.exit(1);
  });
}

async function start(): Promise<void> {
  core = await createCore({ home, mode: 'electron', store });
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
    if (event.type === 'deployment.status' && event.status === 'succeeded' && event.result) {
      const request = c.deploy.get(event.deployment_id).request;
      if (request) lastDeploy = { request, label: event.result.model_name };
    }
  });
  createTray(c, {
    show: showWindow,
    quit: () => app.quit(),
    deployAgain: () => {
      if (lastDeploy) c.deploy.start(lastDeploy.request);
    },
    lastDeployLabel: () => lastDeploy?.label,
  });
  showWindow();
}

function showWindow(): void {
  if (!win || win.isDestroyed()) {
    win = createMainWindow(loadBounds(store));
    const w = win;
    w.on('close', () => saveBounds(store, w.getBounds()));
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
  const c = core;
  const question = quitQuestion(c.servers.list(), c.settings.get().keep_servers_on_quit);
  if (question) {
    const answer = dialog.showMessageBoxSync({
      type: 'question',
      message: question,
      detail:
        'Choose "Keep running" to leave them serving after Berth quits (Berth finds them again when it starts).',
      buttons: ['Stop and quit', 'Keep running and quit', 'Cancel'],
      defaultId: 0,
      cancelId: 2,
    });
    if (answer === 2) return;
    if (answer === 1) c.settings.update({ keep_servers_on_quit: true });
  }
  quitting = true;
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
