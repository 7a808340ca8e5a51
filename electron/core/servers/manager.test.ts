import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { BerthEvent } from '../../../shared/events.js';
import type { ServerInfo } from '../../../shared/servers.js';
import type { Core } from '../app.js';
import { BerthError } from '../errors.js';
import { makeTestCore } from '../test-support/core.js';
import type { Backend } from './backend.js';
import { isAlive } from './process-tree.js';
import {
  ManualClock,
  pidsOf,
  preparedModel,
  standinEnv,
  survivors,
  waitFor,
  withStandinKnobs,
  workerPids,
} from './test-support/standin.js';

const cleanups: Array<() => Promise<void>> = [];
const seenPids = new Set<number>();

async function core(options: { clock?: ManualClock; env?: NodeJS.ProcessEnv } = {}) {
  const t = await makeTestCore({
    env: options.env ?? standinEnv(),
    ...(options.clock ? { clock: options.clock } : {}),
  });
  cleanups.push(t.dispose);
  const events: BerthEvent[] = [];
  t.core.bus.subscribe((e) => {
    events.push(e);
    if (e.type === 'server.status' && e.server.pid) seenPids.add(e.server.pid);
    if (e.type === 'server.log') for (const pid of workerPids([e.log.line])) seenPids.add(pid);
  });
  return { ...t, events };
}

function vllm(c: Core, knobs: Record<string, string> = {}): Backend {
  const backend = c.backends.vllm as Backend;
  return withStandinKnobs(backend, { BERTH_STANDIN_DELAY_MS: '100', ...knobs });
}

async function rejection(promise: Promise<unknown>): Promise<BerthError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(BerthError);
  return error as BerthError;
}

afterEach(async () => {
  for (const dispose of cleanups.splice(0).reverse()) await dispose();
  // After every test no child process remains: neither children of this process nor any worker seen.
  expect(survivors(seenPids)).toEqual([]);
  seenPids.clear();
});

describe('ServerManager with the vLLM stand-in', () => {
  it('reports running only after the health check passed, serves chat, and stops the process', async () => {
    const { core: c, events } = await core();
    const started = c.servers.start({
      name: 'tiny',
      backend: vllm(c, { BERTH_STANDIN_DELAY_MS: '600' }),
      model: preparedModel('tiny'),
    });
    await waitFor(() => c.servers.list()[0]?.pid !== undefined, 5_000, 'spawn');
    const early = c.servers.get('tiny');
    expect(early.status).toBe('starting');
    await expect(fetch(`${early.base_url}/health`)).rejects.toThrow(); // the stand-in has not opened the port
    const info = await started;
    expect(info.status).toBe('running');
    const statuses = events.flatMap((e) => (e.type === 'server.status' ? [e.server.status] : []));
    expect(statuses.filter((s, i) => s !== statuses[i - 1])).toEqual(['starting', 'running']);
    expect(info.command).toContain('vllm.entrypoints.openai.api_server');
    expect(info.port).toBeGreaterThanOrEqual(8000);

    const chat = await fetch(`${info.openai_base_url}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'tiny', messages: [{ role: 'user', content: 'hello there' }] }),
    });
    expect(
      ((await chat.json()) as { choices: Array<{ message: { content: string } }> }).choices[0]?.message
        .content,
    ).toBe('Echo: hello there');

    const stopped = await c.servers.stop(info.id);
    expect(stopped.status).toBe('stopped');
    expect(isAlive(info.pid as number)).toBe(false);
    const log = c.servers.logs('tiny').map((l) => l.line);
    expect(log).toContain('INFO:     Application startup complete.');
    expect(log).toContain('INFO:     Shutting down');
    expect(events.some((e) => e.type === 'server.log' && e.server_id === info.id)).toBe(true);
  });

  it('detects kill -9 as a crash within a second and keeps the logs', async () => {
    const { core: c, events } = await core();
    const info = await c.servers.start({ name: 'victim', backend: vllm(c), model: preparedModel('victim') });
    const killedAt = Date.now();
    process.kill(info.pid as number, 'SIGKILL');
    await waitFor(() => events.some((e) => e.type === 'server.crashed'), 1_000, 'the crash event');
    expect(Date.now() - killedAt).toBeLessThan(1_000);
    const crashed = c.servers.get('victim');
    expect(crashed.status).toBe('crashed');
    expect(crashed.exit).toEqual({ code: null, signal: 'SIGKILL' });
    expect(crashed.error?.code).toBe('SERVER_CRASHED');
    expect((crashed.error?.details?.log_tail as string[] | undefined)?.join('\n')).toContain(
      'Application startup complete.',
    );
    expect(events.find((e) => e.type === 'server.crashed')).toMatchObject({ will_restart: false });
    expect(c.servers.logs('victim').length).toBeGreaterThan(10);
  });

  it('restarts a crashed server with back-off when auto-restart is on', async () => {
    const clock = new ManualClock();
    const { core: c, events } = await core({ clock });
    const first = await c.servers.start({
      name: 'phoenix',
      backend: vllm(c),
      model: preparedModel('phoenix'),
      auto_restart: true,
    });
    const crashes = () => events.filter((e) => e.type === 'server.crashed');
    process.kill(first.pid as number, 'SIGKILL');
    await waitFor(() => crashes().length === 1, 1_000, 'first crash');
    expect(crashes()[0]).toMatchObject({ will_restart: true, restart_in_ms: 1_000 });
    expect(clock.pending()).toHaveLength(1);
    clock.advance(1_000);
    await waitFor(() => c.servers.get('phoenix').status === 'running', 10_000, 'the restart');
    const second = c.servers.get('phoenix');
    expect(second.restarts).toBe(1);
    expect(second.pid).not.toBe(first.pid);

    process.kill(second.pid as number, 'SIGKILL');
    await waitFor(() => crashes().length === 2, 1_000, 'second crash');
    expect(crashes()[1]).toMatchObject({ will_restart: true, restart_in_ms: 2_000 });
    await c.servers.stop('phoenix'); // cancels the pending restart
    expect(clock.pending()).toHaveLength(0);
  });

  it('refuses a requested port that is taken, naming a free one, and reports a substituted default', async () => {
    const { core: c } = await core();
    const blocker = await listen(0);
    const taken = (blocker.address() as { port: number }).port;
    const error = await rejection(
      c.servers.start({ name: 'a', backend: vllm(c), model: preparedModel('a'), port: taken }),
    );
    expect(error.code).toBe('PORT_IN_USE');
    expect(error.hint).toMatch(new RegExp(`${(error.details as { free_port: number }).free_port} is free`));
    expect(c.servers.list()).toEqual([]); // refused before anything was recorded or spawned
    c.settings.update({ ports: { vllm: taken } });
    const info = await c.servers.start({ name: 'b', backend: vllm(c), model: preparedModel('b') });
    expect(info.port).not.toBe(taken);
    expect(c.servers.logs('b').map((l) => l.line)).toContain(`port ${taken} is taken; using ${info.port}`);
    blocker.close();
  });

  it('turns a server that exits during start-up into a classified error with its log tail', async () => {
    const { core: c } = await core();
    const oom = await rejection(
      c.servers.start({
        name: 'oom',
        backend: vllm(c, { BERTH_STANDIN_FAIL: 'oom' }),
        model: preparedModel('oom'),
      }),
    );
    expect(oom.code).toBe('CUDA_OUT_OF_MEMORY');
    expect(
      (oom.details?.log_tail as string[] | undefined)?.some((l) => l.includes('CUDA out of memory')),
    ).toBe(true);
    expect(oom.details?.exit).toEqual({ code: 1, signal: null });
    expect(c.servers.get('oom')).toMatchObject({ status: 'failed', error: { code: 'CUDA_OUT_OF_MEMORY' } });

    const kv = await rejection(
      c.servers.start({
        name: 'kv',
        backend: vllm(c, { BERTH_STANDIN_FAIL: 'kv' }),
        model: preparedModel('kv'),
      }),
    );
    expect(kv.code).toBe('KV_CACHE_TOO_SMALL');
    expect(kv.hint).toContain('max_model_len 5632');
  });

  it('reports vLLM missing as BACKEND_NOT_INSTALLED', async () => {
    const { core: c } = await core({ env: { ...process.env, PYTHONPATH: '' } });
    const error = await rejection(
      c.servers.start({ name: 'nov', backend: c.backends.vllm as Backend, model: preparedModel('nov') }),
    );
    expect(error.code).toBe('BACKEND_NOT_INSTALLED');
  });

  it('ends the whole process tree when start-up outlives its deadline', async () => {
    const { core: c } = await core();
    for (const mode of ['group', 'session']) {
      const error = await rejection(
        c.servers.start({
          name: `hang-${mode}`,
          backend: vllm(c, { BERTH_STANDIN_FAIL: 'hang', BERTH_STANDIN_GRANDCHILD: mode }),
          model: preparedModel(`hang-${mode}`),
          startup_deadline_ms: 1_500,
        }),
      );
      expect(error.code).toBe('STARTUP_TIMEOUT');
      const workers = workerPids(c.servers.logs(`hang-${mode}`).map((l) => l.line));
      expect(workers).toHaveLength(1);
      expect(workers.filter(isAlive)).toEqual([]);
      expect(isAlive(c.servers.get(`hang-${mode}`).pid as number)).toBe(false);
    }
  });

  it('escalates to SIGKILL when the server ignores SIGTERM', async () => {
    const { core: c } = await core();
    const info = await c.servers.start({
      name: 'stubborn',
      backend: vllm(c, { BERTH_STANDIN_IGNORE_TERM: '1', BERTH_STANDIN_GRANDCHILD: 'session' }),
      model: preparedModel('stubborn'),
    });
    const stopped = await c.servers.stop(info.id, 300);
    expect(stopped.exit).toEqual({ code: null, signal: 'SIGKILL' });
    expect(c.servers.logs(info.id).map((l) => l.line)).toContain(
      'still running after 300 ms: sending SIGKILL',
    );
  });

  it('cancels a start through its abort signal, leaving no process', async () => {
    const { core: c } = await core();
    const abort = new AbortController();
    const started = c.servers.start({
      name: 'cancelled',
      backend: vllm(c, { BERTH_STANDIN_FAIL: 'hang' }),
      model: preparedModel('cancelled'),
      signal: abort.signal,
    });
    await waitFor(() => c.servers.list()[0]?.pid !== undefined, 5_000, 'spawn');
    abort.abort();
    expect((await rejection(started)).code).toBe('CANCELLED');
    expect(isAlive(c.servers.get('cancelled').pid as number)).toBe(false);
  });

  it('starts ten servers at once on distinct ports', async () => {
    const { core: c } = await core();
    const infos = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        c.servers.start({ name: `s${i}`, backend: vllm(c), model: preparedModel(`s${i}`) }),
      ),
    );
    expect(new Set(infos.map((i) => i.port)).size).toBe(10);
    expect(infos.every((i) => i.status === 'running')).toBe(true);
    for (const pid of pidsOf(infos)) seenPids.add(pid);
  }, 120_000);

  it('refuses the same name twice while the first is live (NAME_CONFLICT), and a second start', async () => {
    const { core: c } = await core();
    const [first, second] = await Promise.allSettled([
      c.servers.start({ name: 'twin', backend: vllm(c), model: preparedModel('twin') }),
      c.servers.start({ name: 'twin', backend: vllm(c), model: preparedModel('twin') }),
    ]);
    expect(first.status).toBe('fulfilled');
    expect(second.status === 'rejected' && (second.reason as BerthError).code).toBe('NAME_CONFLICT');
    expect(c.servers.list()).toHaveLength(1);
    // After a stop the name is free again; the old record is replaced.
    await c.servers.stop('twin');
    await c.servers.start({ name: 'twin', backend: vllm(c), model: preparedModel('twin') });
    expect(c.servers.list()).toHaveLength(1);
  });

  it('restarts on the same port with a new process and removes with an event', async () => {
    const { core: c, events } = await core();
    const info = await c.servers.start({ name: 'again', backend: vllm(c), model: preparedModel('again') });
    const restarted = await c.servers.restart('again');
    expect(restarted.status).toBe('running');
    expect(restarted.port).toBe(info.port);
    expect(restarted.pid).not.toBe(info.pid);
    expect(isAlive(info.pid as number)).toBe(false);
    await c.servers.remove(info.id);
    expect(isAlive(restarted.pid as number)).toBe(false);
    expect(events.at(-1)).toEqual({ type: 'server.removed', server_id: info.id });
    expect(() => c.servers.get(info.id)).toThrow(/No server/);
  });

  it('stops every server on close', async () => {
    const { core: c } = await core();
    const infos: ServerInfo[] = await Promise.all(
      ['x', 'y'].map((n) => c.servers.start({ name: n, backend: vllm(c), model: preparedModel(n) })),
    );
    await c.close();
    expect(pidsOf(infos).filter(isAlive)).toEqual([]);
  });
});

function listen(port: number): Promise<Server> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}
