import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = dirname(dirname(fileURLToPath(import.meta.url)));

/** A built `berth serve` in its own BERTH_HOME, for benchmarks that load it from another process. */
export async function startServe(env: NodeJS.ProcessEnv = {}): Promise<{
  url: string;
  uiUrl: string;
  token: string;
  home: string;
  child: ChildProcess;
  stop(): Promise<void>;
}> {
  const home = mkdtempSync(join(tmpdir(), 'berth-bench-'));
  const child = spawn(process.execPath, [join(root, 'bin', 'berth.js'), 'serve', '--port', '0', '--json'], {
    env: { ...process.env, ...env, BERTH_HOME: home },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const info = await new Promise<{ url: string; ui_url: string }>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (c) => {
      out += c;
      if (out.includes('\n')) resolve(JSON.parse(out.split('\n')[0]!));
    });
    child.once('exit', (code) => reject(new Error(`berth serve exited ${code}`)));
  });
  return {
    url: info.url,
    uiUrl: info.ui_url,
    token: new URL(info.ui_url).hash.replace('#token=', ''),
    home,
    child,
    async stop() {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
      rmSync(home, { recursive: true, force: true });
    },
  };
}
