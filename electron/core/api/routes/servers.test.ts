import { writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import type { LogLine, ServerInfo } from '../../../../shared/servers.js';
import { main } from '../../cli/main.js';
import type { CliIo } from '../../cli/output.js';
import type { Backend } from '../../servers/backend.js';
import { isAlive } from '../../servers/process-tree.js';
import {
  preparedModel,
  standinEnv,
  survivors,
  waitFor,
  withStandinKnobs,
} from '../../servers/test-support/standin.js';
import { makeTestApi } from '../../test-support/core.js';

const disposers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const dispose of disposers.splice(0)) await dispose();
  expect(survivors()).toEqual([]);
});

async function setup() {
  const t = await makeTestApi({ env: standinEnv() });
  disposers.push(t.dispose);
  writeFileSync(t.core.paths.apiInfoFile, JSON.stringify({ url: t.api.url, pid: process.pid }));
  const backend = withStandinKnobs(t.core.backends.vllm as Backend, { BERTH_STANDIN_DELAY_MS: '100' });
  const server = await t.core.servers.start({ name: 'api-tiny', backend, model: preparedModel('api-tiny') });
  const cli = async (...argv: string[]) => {
    const io: CliIo & { stdout: string; stderr: string } = {
      stdout: '',
      stderr: '',
      isTty: false,
      out(text) {
        this.stdout += text;
      },
      err(text) {
        this.stderr += text;
      },
    };
    const code = await main(argv, io, { ...process.env, BERTH_HOME: t.home });
    return { code, stdout: io.stdout, stderr: io.stderr };
  };
  return { ...t, server, cli };
}

describe('servers over HTTP', () => {
  it('lists, gets, tails logs, restarts, stops and deletes', async () => {
    const { call, server } = await setup();
    const list = await call('GET', '/api/servers');
    expect(list.status).toBe(200);
    expect((list.body as ServerInfo[]).map((s) => s.name)).toEqual(['api-tiny']);
    expect((await call('GET', '/api/servers/api-tiny')).body).toMatchObject({
      id: server.id,
      status: 'running',
    });
    const logs = await call('GET', `/api/servers/${server.id}/logs?tail=3`);
    expect((logs.body as LogLine[]).length).toBe(3);
    expect((await call('GET', `/api/servers/${server.id}/logs?tail=0`)).body.error.code).toBe(
      'INVALID_REQUEST',
    );
    expect((await call('GET', '/api/servers/nope')).status).toBe(404);

    const restarted = await call('POST', `/api/servers/${server.id}/restart`);
    expect(restarted.body).toMatchObject({ status: 'running', port: server.port });
    expect(isAlive(server.pid as number)).toBe(false);
    const stopped = await call('POST', `/api/servers/${server.id}/stop`);
    expect(stopped.body).toMatchObject({ status: 'stopped' });
    expect(isAlive(restarted.body.pid)).toBe(false);
    expect((await call('DELETE', `/api/servers/${server.id}`)).body).toEqual({ success: true });
    expect((await call('GET', `/api/servers/${server.id}`)).body.error.code).toBe('SERVER_NOT_FOUND');
  });

  it('follows logs as Server-Sent Events', async () => {
    const { api, server, core } = await setup();
    const abort = new AbortController();
    const res = await fetch(`${api.url}/api/servers/${server.id}/logs?tail=1&follow=1`, {
      headers: { authorization: `Bearer ${api.token}` },
      signal: abort.signal,
    });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const received: LogLine[] = [];
    const reading = (async () => {
      const decoder = new TextDecoder();
      let buffer = '';
      for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        for (const m of buffer.matchAll(/^data: (.*)$/gm)) received.push(JSON.parse(m[1] as string));
        buffer = buffer.slice(buffer.lastIndexOf('\n') + 1);
      }
    })().catch(() => undefined);
    await waitFor(() => received.length === 1, 5_000, 'the tail line');
    await fetch(`${server.base_url}/health`); // the stand-in logs the request: a new line to follow
    await waitFor(() => received.some((l) => l.line.includes('GET /health')), 5_000, 'a followed line');
    abort.abort();
    await reading;
    await core.servers.stop(server.id);
  });

  it('berth ls, berth logs and berth stop reach the running Berth', async () => {
    const { cli, server } = await setup();
    const ls = await cli('ls');
    expect(ls.code).toBe(0);
    expect(ls.stdout).toMatch(/^ID\s+NAME\s+STATUS/);
    expect(ls.stdout).toContain(`api-tiny  running`);
    const lsJson = JSON.parse((await cli('ls', '--json')).stdout) as ServerInfo[];
    expect(lsJson[0]?.id).toBe(server.id);

    const logs = await cli('logs', 'api-tiny', '--tail', '2');
    expect(logs.stdout.trim().split('\n')).toHaveLength(2);
    const logsJson = (await cli('logs', 'api-tiny', '--json')).stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(logsJson.some((l: LogLine) => l.line === 'INFO:     Application startup complete.')).toBe(true);

    const missing = await cli('stop', 'nope', '--json');
    expect(missing.code).toBe(1);
    expect(JSON.parse(missing.stdout).error.code).toBe('SERVER_NOT_FOUND');
    const stop = await cli('stop', 'api-tiny');
    expect(stop).toMatchObject({ code: 0, stdout: 'api-tiny: stopped\n' });
    expect(isAlive(server.pid as number)).toBe(false);
  });
});
