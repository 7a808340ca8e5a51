import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { copyFixture } from './checkpoints/test-fixtures.js';
import { startHeadless } from './headless.js';
import { LogSink } from './servers/log-sink.js';
import { OutputTail } from './servers/output-tail.js';
import { saveServerRecords } from './servers/state.js';

/** Every folder and file under `root` with its permission bits. */
function modes(root: string): Array<{ path: string; mode: number; dir: boolean }> {
  const out = [{ path: root, mode: statSync(root).mode & 0o777, dir: true }];
  for (const entry of readdirSync(root, { withFileTypes: true, recursive: true })) {
    const path = join(entry.parentPath, entry.name);
    out.push({ path, mode: statSync(path).mode & 0o777, dir: entry.isDirectory() });
  }
  return out;
}

let previous: number | undefined;
afterEach(() => {
  if (previous !== undefined) process.umask(previous);
  previous = undefined;
});

describe('the data folder is private whatever the umask', () => {
  it.each([
    ['000', 0o000],
    ['002', 0o002],
    ['022', 0o022],
  ])('folders 0700 and files 0600 under umask %s', async (_label, umask) => {
    previous = process.umask(umask);
    const work = mkdtempSync(join(tmpdir(), 'berth-private-'));
    const home = join(work, 'home');
    const headless = await startHeadless({ home, port: 0, env: { ...process.env, HOME: work } });
    try {
      const { core, api } = headless;
      const call = (method: string, path: string, body?: unknown) =>
        fetch(api.url + path, {
          method,
          headers: { authorization: `Bearer ${api.token}`, 'content-type': 'application/json' },
          ...(body ? { body: JSON.stringify(body) } : {}),
        });
      await call('PATCH', '/api/settings', { auto_restart: true }); // the settings file
      await call('POST', '/api/training/jobs', { path: copyFixture('trainer-run', work) }); // the job registry
      await call('POST', '/api/token/regenerate');
      saveServerRecords(core.paths.stateFile('servers'), []);
      const sink = new LogSink(join(core.paths.logsDir, 'servers', 'x-1.log'), '[test]');
      sink.write('berth', 'a line');
      const tail = new OutputTail(`${sink.path}.stdout`, () => {});
      tail.close();
      const all = modes(home);
      expect(all.length).toBeGreaterThan(8);
      const wrong = all.filter((e) => e.mode !== (e.dir ? 0o700 : 0o600));
      expect(wrong.map((e) => `${e.path} ${e.mode.toString(8)}`)).toEqual([]);
    } finally {
      await headless.close();
      rmSync(work, { recursive: true, force: true });
    }
  });
});
