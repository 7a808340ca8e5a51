import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { repoRoot, startBerth } from './support/berth.js';

// Quitting `berth serve` (SIGTERM, as systemd or Ctrl+C in a terminal would) stops the servers it runs
// (Settings > keep servers running is off by default): none is left behind.
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('berth serve stops its servers when it is told to quit', async () => {
  const berth = await startBerth();
  const gguf = join(repoRoot, 'electron', 'core', 'engine', '__fixtures__', 'llama-2-tiny-random.gguf');
  const res = await berth.api<{ success: boolean; server_id: string }>('POST', '/api/training/deploy', {
    model_path: gguf,
    server_type: 'llamacpp',
    name: 'quit-test',
  });
  expect(res.success).toBe(true);
  const server = await berth.api<{ pid: number; status: string }>('GET', `/api/servers/${res.server_id}`);
  expect(server.status).toBe('running');
  expect(alive(server.pid)).toBe(true);
  await berth.stop(); // SIGTERM, then waits for berth serve to exit
  expect(berth.process.exitCode).toBe(0);
  expect(alive(server.pid)).toBe(false);
});

// A service manager (systemd, a container runtime, a supervisor) sends SIGTERM to the pid it started: with
// `npx berth serve` that is npm, whose `sh -c` passes nothing on. Berth must notice and quit on its own.
async function startViaNpx(home: string) {
  const npx = spawn('npx', ['berth', 'serve', '--port', '0', '--json'], {
    cwd: repoRoot,
    env: { ...process.env, BERTH_HOME: home },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const info = await new Promise<{ url: string; ui_url: string }>((resolve, reject) => {
    let out = '';
    npx.stdout!.on('data', (c) => {
      out += c;
      if (out.includes('\n')) resolve(JSON.parse(out.split('\n')[0]!));
    });
    npx.once('exit', (code) => reject(new Error(`npx exited ${code}`)));
  });
  const token = new URL(info.ui_url).hash.replace('#token=', '');
  const api = async <T>(method: string, path: string, body?: unknown): Promise<T> =>
    (await (
      await fetch(info.url + path, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body ? { 'content-type': 'application/json' } : {}),
        },
        ...(body ? { body: JSON.stringify(body) } : {}),
      })
    ).json()) as T;
  const { pid: servePid } = JSON.parse(readFileSync(join(home, 'api.json'), 'utf8')) as { pid: number };
  return { npx, api, servePid };
}

async function gone(pid: number, withinMs: number): Promise<boolean> {
  const until = Date.now() + withinMs;
  while (Date.now() < until) {
    if (!alive(pid)) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return !alive(pid);
}

for (const keep of [false, true]) {
  test(`SIGTERM to npx's pid only: berth serve notices and exits${keep ? ', leaving servers running as Settings says' : ', stopping its servers'}`, async () => {
    const home = mkdtempSync(join(tmpdir(), 'berth-npx-'));
    const { npx, api, servePid } = await startViaNpx(home);
    let enginePid = 0;
    try {
      expect(servePid).not.toBe(npx.pid);
      if (keep) await api('PATCH', '/api/settings', { keep_servers_on_quit: true });
      const gguf = join(repoRoot, 'electron', 'core', 'engine', '__fixtures__', 'llama-2-tiny-random.gguf');
      const res = await api<{ success: boolean; server_id: string }>('POST', '/api/training/deploy', {
        model_path: gguf,
        server_type: 'llamacpp',
        name: 'launcher-test',
      });
      expect(res.success).toBe(true);
      enginePid = (await api<{ pid: number }>('GET', `/api/servers/${res.server_id}`)).pid;
      process.kill(npx.pid!, 'SIGTERM'); // the launcher only, as a service manager does
      expect(await gone(servePid, 15_000)).toBe(true);
      if (keep) expect(alive(enginePid)).toBe(true);
      else expect(await gone(enginePid, 5_000)).toBe(true);
    } finally {
      for (const pid of [servePid, enginePid]) if (pid && alive(pid)) process.kill(pid, 'SIGKILL');
      rmSync(home, { recursive: true, force: true });
    }
  });
}
