import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { LogLine } from '../../../shared/servers.js';
import { createCore } from '../app.js';
import { TINY_GGUF } from '../engine/__fixtures__/fixtures.js';
import { isAlive } from './process-tree.js';
import { survivors, waitFor } from './test-support/standin.js';

// "Keep servers running after Berth quits", with the built-in engine (a Node program that logs every request):
// children write to files, not pipes, so one that outlives Berth can still log (a closed pipe would kill it at
// its next line), and the next Berth adopts it and follows its output live.
const home = mkdtempSync(join(tmpdir(), 'berth-keep-'));
afterAll(() => rmSync(home, { recursive: true, force: true }));

describe('a server kept running across Berth restarts', () => {
  it('keeps answering and logging after Berth quits; the next Berth follows its log again', async () => {
    const first = await createCore({ home, mode: 'headless' });
    first.settings.update({ keep_servers_on_quit: true });
    const res = await first.deploy.deploy({ model_path: TINY_GGUF, server_type: 'llamacpp', name: 'kept' });
    const pid = first.servers.get('kept').pid!;
    await first.close();

    // Berth is gone; the server is asked (and logs) a few times.
    for (let i = 0; i < 3; i++) expect((await fetch(`${res.base_url}/health`)).status).toBe(200);
    expect(isAlive(pid)).toBe(true);

    const second = await createCore({ home, mode: 'headless' });
    try {
      expect(second.servers.get('kept')).toMatchObject({ status: 'running', pid });
      const seen: LogLine[] = [];
      const off = second.servers.follow('kept', (line) => seen.push(line));
      const models = await fetch(`${res.base_url}/v1/models`);
      expect(models.status).toBe(200);
      await waitFor(
        () => seen.some((l) => l.line.includes('GET /v1/models')),
        5_000,
        "the adopted server's log line",
      );
      off();
      await second.servers.stop('kept');
      expect(isAlive(pid)).toBe(false);
    } finally {
      await second.close();
    }
    expect(survivors([pid])).toEqual([]);
  });
});
