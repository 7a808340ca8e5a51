import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test as base, type Page } from '@playwright/test';

export const repoRoot = dirname(dirname(dirname(fileURLToPath(import.meta.url))));
export const screenshotDir = join(repoRoot, 'e2e', 'screenshots');

/** A real `berth serve` child in its own temporary BERTH_HOME. */
export interface BerthInstance {
  home: string;
  url: string;
  uiUrl: string;
  token: string;
  process: ChildProcess;
  api<T = unknown>(method: string, path: string, body?: unknown): Promise<T>;
}

export async function startBerth(
  env: NodeJS.ProcessEnv = {},
): Promise<BerthInstance & { stop(): Promise<void> }> {
  const home = mkdtempSync(join(tmpdir(), 'berth-e2e-'));
  const child = spawn(
    process.execPath,
    [join(repoRoot, 'bin', 'berth.js'), 'serve', '--port', '0', '--json'],
    {
      env: { ...process.env, ...env, BERTH_HOME: home },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr!.on('data', (c) => (stderr += c));
  const info = await new Promise<{ url: string; ui_url: string }>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (c) => {
      out += c;
      const line = out.split('\n')[0];
      if (out.includes('\n') && line) resolve(JSON.parse(line));
    });
    child.once('exit', (code) => reject(new Error(`berth serve exited ${code}: ${stderr}`)));
  });
  const token = new URL(info.ui_url).hash.replace('#token=', '');
  const instance = {
    home,
    url: info.url,
    /** The UI's address with the current token (a test may regenerate it in Settings). */
    get uiUrl() {
      return `${info.url}/#token=${instance.token}`;
    },
    token,
    process: child,
    async api<T>(method: string, path: string, body?: unknown): Promise<T> {
      const res = await fetch(info.url + path, {
        method,
        headers: {
          // The current token: a test may have regenerated it.
          authorization: `Bearer ${instance.token}`,
          ...(body ? { 'content-type': 'application/json' } : {}),
        },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      return (await res.json()) as T;
    },
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(home, { recursive: true, force: true });
    },
  };
  return instance;
}

/** Saves a full-page screenshot under e2e/screenshots (kept as a CI artifact, looked at by people). */
export async function snap(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(screenshotDir, `${name}.png`), fullPage: true });
}

/** A test with one Berth per test file. */
export const test = base.extend<object, { berth: BerthInstance }>({
  berth: [
    // biome-ignore lint/correctness/noEmptyPattern: Playwright fixtures take their dependencies by destructuring
    async ({}, use) => {
      const berth = await startBerth();
      await use(berth);
      await berth.stop();
    },
    { scope: 'worker' },
  ],
});
export { expect } from '@playwright/test';
