import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { _electron as electron, expect, test } from '@playwright/test';
import { repoRoot, snap } from './support/berth.js';

/** The Electron binary, when `npm ci` could download it (not where ELECTRON_SKIP_BINARY_DOWNLOAD is set). */
function electronBinary(): string | undefined {
  try {
    const pkg = dirname(createRequire(import.meta.url).resolve('electron/package.json'));
    const exe = join(pkg, 'dist', readFileSync(join(pkg, 'path.txt'), 'utf8').trim());
    return existsSync(exe) ? exe : undefined;
  } catch {
    return undefined;
  }
}

const exe = electronBinary();

test.describe('the Electron shell', () => {
  test.skip(
    !exe,
    'No Electron binary here (installed with ELECTRON_SKIP_BINARY_DOWNLOAD=1: GitHub is unreachable); the headless suites cover the same UI',
  );

  test('opens a sandboxed window that reaches the core over IPC', async () => {
    const home = mkdtempSync(join(tmpdir(), 'berth-electron-'));
    const app = await electron.launch({
      executablePath: exe!,
      args: [repoRoot],
      env: { ...process.env, BERTH_HOME: home },
    });
    try {
      const page = await app.firstWindow();
      await expect(page.getByRole('heading', { name: 'Checkpoints', level: 1 })).toBeVisible();
      const prefs = await app.evaluate(({ BrowserWindow }) => {
        const wc = BrowserWindow.getAllWindows()[0]!.webContents;
        const p = (
          wc as unknown as { getLastWebPreferences(): Record<string, unknown> }
        ).getLastWebPreferences();
        return {
          sandbox: p.sandbox,
          contextIsolation: p.contextIsolation,
          nodeIntegration: p.nodeIntegration,
        };
      });
      expect(prefs).toEqual({ sandbox: true, contextIsolation: true, nodeIntegration: false });
      expect(await page.evaluate(() => typeof (window as unknown as { require?: unknown }).require)).toBe(
        'undefined',
      );
      await page.getByRole('link', { name: 'Settings' }).click();
      await expect(page.getByText(home)).toBeVisible();
      await snap(page, 'electron-settings');
    } finally {
      await app.close();
      rmSync(home, { recursive: true, force: true });
    }
  });
});
