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
