import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BrowserWindow, session, shell } from 'electron';
import { CONTENT_SECURITY_POLICY } from '../core/api/static.js';
import { appRoot } from '../core/version.js';

/** The renderer's entry file; every trusted page lives under this folder. */
export const rendererIndex = () => join(appRoot(), 'dist', 'renderer', 'index.html');

/** Whether a URL is one of our own renderer files (the only page allowed to call IPC). */
export function isOwnPage(url: string): boolean {
  const base = pathToFileURL(join(appRoot(), 'dist', 'renderer')).href;
  return url.startsWith(`${base}/`);
}

/** Creates the main window: sandboxed, context-isolated, no Node, a strict CSP, no navigation away. */
export function createMainWindow(bounds?: {
  x?: number;
  y?: number;
  width: number;
  height: number;
}): BrowserWindow {
  session.defaultSession.webRequest.onHeadersReceived((details, callback) => {
    callback({
      responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CONTENT_SECURITY_POLICY] },
    });
  });
  session.defaultSession.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));

  const win = new BrowserWindow({
    width: bounds?.width ?? 1200,
    height: bounds?.height ?? 800,
    ...(bounds?.x !== undefined && bounds.y !== undefined ? { x: bounds.x, y: bounds.y } : {}),
    minWidth: 820,
    minHeight: 560,
    title: 'Berth',
    show: false,
    icon: join(appRoot(), 'resources', 'icon.png'),
    webPreferences: {
      preload: join(appRoot(), 'dist', 'electron', 'preload', 'index.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
      spellcheck: false,
    },
  });
  win.once('ready-to-show', () => win.show());
  // Our pages never navigate; links to the web open in the user's browser, and only http(s) ones.
  win.webContents.on('will-navigate', (event, url) => {
    if (!isOwnPage(url)) event.preventDefault();
  });
  win.webContents.setWindowOpenHandler(({ url }) => {
    if (/^https?:\/\//.test(url)) void shell.openExternal(url);
    return { action: 'deny' };
  });
  void win.loadFile(rendererIndex());
  return win;
}
