import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import type { ServerInfo } from '../../../shared/servers.js';
import { type Core, createCore } from '../app.js';
import type { Backend } from './backend.js';
import { isAlive } from './process-tree.js';
import { preparedModel, standinEnv, survivors, waitFor, withStandinKnobs } from './test-support/standin.js';

const homes: string[] = [];
const cores: Core[] = [];
const pids = new Set<number>();

async function openCore(home: string): Promise<Core> {
  const core = await createCore({ home, mode: 'headless', env: standinEnv() });
  cores.push(core);
  return core;
}

function newHome(): string {
  const home = mkdtempSync(join(tmpdir(), 'berth-reconcile-'));
  homes.push(home);
  return home;
}

afterEach(async () => {
  for (const core of cores.splice(0)) await core.close();
  for (const pid of pids) if (isAlive(pid)) process.kill(pid, 'SIGKILL'); // only on failure; asserted below
  const left = survivors(pids);
  pids.clear();
  for (const home of homes.splice(0)) rmSync(home, { recursive: true, force: true });
  expect(left).toEqual([]);
});

describe('reconciliation across Berth runs', () => {
  it('finds and reconciles the leftovers of a core killed with kill -9', async () => {
    const home = newHome();
    // `node --import tsx` is what `npx tsx` runs, minus its wrapper processes: SIGKILL must hit the core itself.
    const child = execa(
      process.execPath,
      [
        '--import',
        'tsx',
        resolve(import.meta.dirname, 'test-support/core-child.ts'),
        'alive',
        'gone',
        'frozen',
      ],
      {
        env: standinEnv({ BERTH_HOME: home }),
        buffer: false,
        reject: false,
      },
    );
    const infos = await new Promise<ServerInfo[]>((done, fail) => {
      let text = '';
      child.stdout?.on('data', (chunk: Buffer) => {
        text += chunk.toString();
        if (text.includes('\n')) done(JSON.parse(text.slice(0, text.indexOf('\n'))));
      });
      void child.then((r) => fail(new Error(`core child ended: ${r.stderr ?? ''}`)));
    });
    const byName = Object.fromEntries(infos.map((i) => [i.name, i]));
    for (const info of infos) pids.add(info.pid as number);
    const exited = new Promise((done) => child.once('exit', done));
    child.kill('SIGKILL');
    await exited; // (not `await child`: execa would also wait for pipes a tsx helper process may hold)
    expect(isAlive(child.pid as number)).toBe(false); // the core itself is gone, not just a wrapper
    // Berth is gone without stopping anything: its servers live on.
    expect(infos.every((i) => isAlive(i.pid as number))).toBe(true);
    process.kill(byName.gone?.pid as number, 'SIGKILL'); // one dies while Berth is down
    process.kill(byName.frozen?.pid as number, 'SIGSTOP'); // one lives but cannot answer
    await waitFor(() => !isAlive(byName.gone?.pid as number), 2_000, 'gone to exit');

    const core = await openCore(home);
    expect(core.servers.lastReconcile).toEqual({
      adopted: ['alive'],
      leftovers: ['frozen'],
      stopped: ['gone'],
    });
    const alive = core.servers.get('alive');
    expect(alive).toMatchObject({ status: 'running', pid: byName.alive?.pid, port: byName.alive?.port });
    expect((await fetch(`${alive.base_url}/v1/models`)).status).toBe(200);
    // Logged once, among the lines the adopted server's output file goes on delivering (the stand-in's own request
    // log for the fetch above may land after it, so not necessarily the last line).
    const readopted = core.servers
      .logs('alive')
      .filter((l) => /^re-adopted pid \d+, left running by Berth pid \d+$/.test(l.line));
    expect(readopted).toHaveLength(1);
    expect(core.servers.get('gone').status).toBe('stopped');
    expect(core.servers.get('frozen')).toMatchObject({
      status: 'failed',
      error: { code: 'LEFTOVER_PROCESS' },
    });

    // Adopted servers are supervised again: a crash is noticed without the exit event, a stop ends the tree.
    await core.servers.stop('frozen', 300);
    expect(isAlive(byName.frozen?.pid as number)).toBe(false);
    process.kill(alive.pid as number, 'SIGKILL');
    await waitFor(() => core.servers.get('alive').status === 'crashed', 1_000, 'the adopted crash');
  }, 60_000);

  it('keeps servers running on quit when asked, and re-adopts them on the next start', async () => {
    const home = newHome();
    const first = await openCore(home);
    first.settings.update({ keep_servers_on_quit: true });
    const backend = withStandinKnobs(first.backends.vllm as Backend, { BERTH_STANDIN_DELAY_MS: '100' });
    const info = await first.servers.start({ name: 'kept', backend, model: preparedModel('kept') });
    pids.add(info.pid as number);
    await first.close();
    cores.splice(cores.indexOf(first), 1);
    expect(isAlive(info.pid as number)).toBe(true);

    const second = await openCore(home);
    expect(second.servers.lastReconcile.adopted).toEqual(['kept']);
    second.settings.update({ keep_servers_on_quit: false });
    await second.close();
    cores.splice(cores.indexOf(second), 1);
    expect(isAlive(info.pid as number)).toBe(false);

    const third = await openCore(home);
    expect(third.servers.get('kept').status).toBe('stopped');
    expect(third.servers.lastReconcile).toEqual({ adopted: [], leftovers: [], stopped: [] });
  });
});
