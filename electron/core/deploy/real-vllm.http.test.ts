import { spawn } from 'node:child_process';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readChatStream } from '../../../renderer/src/api/http-bridge.js';
import { freePort } from '../engine/__fixtures__/engine-process.js';
import { findRealVllm, type RealVllm, realVllmFixture } from '../servers/test-support/real-vllm.js';
import { survivors, VLLM_STANDIN, waitFor } from '../servers/test-support/standin.js';
import { makeTestApi } from '../test-support/core.js';
import { recordingConverterPython } from './test-support.js';

// The vLLM path on the REAL vLLM (no stand-in): `npm run setup:vllm` installs it (the CPU build here), then
//   npx vitest run electron/core/deploy/real-vllm.http.test.ts
// A real Trainer run (make_vllm_run.py) is registered and deployed through the real HTTP API exactly as a user
// would. vLLM's CPU build takes --gpu-memory-utilization as a share of RAM: BERTH_VLLM_MEMORY_FRACTION (default
// 0.1) instead of the 0.8 of the README's example, which would take most of a shared machine's memory.
const found = findRealVllm(process.env, { optIn: true });
const skip = 'skip' in found ? found.skip : undefined;
const vllm = found as RealVllm;
const FRACTION = Number(process.env.BERTH_VLLM_MEMORY_FRACTION ?? 0.1);
/** A vLLM start on 2 busy CPU cores: import, engine core, torch.compile warm-up (cached after the first). */
const START_MS = 10 * 60_000;

type Api = Awaited<ReturnType<typeof makeTestApi>>;
let t: Api;
let jobId: string;
let fixture: { run: string; adapter?: string };
const converter = recordingConverterPython();
let serverId: string;
let firstPid: number;

async function relayChat(id: string): Promise<{ text: string; completion_tokens: number }> {
  const res = await fetch(`${t.api.url}/api/servers/${id}/chat`, {
    method: 'POST',
    headers: { authorization: `Bearer ${t.api.token}`, 'content-type': 'application/json' },
    // greedy: the same reply every time (sampling this random-weight model may end at once)
    body: JSON.stringify({
      messages: [{ role: 'user', content: 'the quick brown fox' }],
      max_tokens: 6,
      temperature: 0,
    }),
  });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('text/event-stream');
  return readChatStream(res.body as ReadableStream<Uint8Array<ArrayBuffer>>, performance.now(), () => {});
}

/** A log line with what differs per run (pids, times, ports, source line numbers, long tails) set aside. */
function shape(line: string): string {
  return line
    .replace(/pid=\d+/g, 'pid=N')
    .replace(/\d\d-\d\d \d\d:\d\d:\d\d/g, 'T')
    .replace(/\[([\w.]+\.py):\d+\]/g, '[$1]')
    .replace(/127\.0\.0\.1:\d+/g, '127.0.0.1:P')
    .replace(/\[\d+\]/g, '[N]')
    .replace(/(non-default args:| with config:|KV cache size:| took ).*/, '$1');
}

/** Runs the vLLM stand-in with `command`'s arguments until it is healthy, then stops it; its output lines. */
async function runStandin(command: string[]): Promise<string[]> {
  const args = command.slice(1);
  const standinPort = await freePort();
  args[args.indexOf('--port') + 1] = String(standinPort);
  const child = spawn('python3', args, {
    env: { ...process.env, PYTHONPATH: VLLM_STANDIN, BERTH_STANDIN_DELAY_MS: '50' },
  });
  let out = '';
  child.stdout.on('data', (c) => (out += c));
  child.stderr.on('data', (c) => (out += c));
  const exited = new Promise((r) => child.once('exit', r));
  try {
    for (let i = 0; i < 200; i++) {
      const ok = await fetch(`http://127.0.0.1:${standinPort}/health`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
  return out.split('\n').filter(Boolean);
}

describe.skipIf(skip !== undefined)(`real vLLM ${skip ? '' : `${vllm.version} (${vllm.python})`}`, () => {
  beforeAll(async () => {
    fixture = realVllmFixture();
    const env = { ...process.env };
    delete env.PYTHONPATH; // never the stand-in
    t = await makeTestApi({ env });
    t.core.settings.update({
      python: { vllm: vllm.python, converter: converter.python },
      ollama: { host: `http://127.0.0.1:${await freePort()}` },
    });
    const job = await t.call('POST', '/api/training/jobs', { path: fixture.run });
    expect([200, 201]).toContain(job.status);
    jobId = job.body.id;
  }, 600_000);
  afterAll(async () => {
    await t?.dispose();
    expect(survivors()).toEqual([]);
  }, 120_000);

  it(
    "deploys a Trainer checkpoint with the design document's request; health, response, never converts",
    async () => {
      const system = await t.call('GET', '/api/system?refresh=1');
      expect(system.body.backends.find((b: { name: string }) => b.name === 'vllm')).toMatchObject({
        installed: true,
        version: vllm.version,
      });
      const res = await t.call('POST', '/api/training/deploy', {
        job_id: jobId,
        server_type: 'vllm',
        checkpoint_path: 'checkpoint-4',
        name: 'my-model',
        config: { gpu_memory_utilization: FRACTION, max_model_len: 128, dtype: 'float32' },
      });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body).toMatchObject({
        success: true,
        status: 'running',
        model_name: 'my-model',
        server_type: 'vllm',
        base_url: `http://127.0.0.1:${res.body.port}`,
        openai_base_url: `http://127.0.0.1:${res.body.port}/v1`,
      });
      expect(res.body.model_id).toMatch(/^[0-9a-f-]{36}$/);
      expect(res.body.gguf_path).toBeUndefined();
      expect(converter.runs()).toEqual([]);
      serverId = res.body.server_id;
      const health = await fetch(`${res.body.base_url}/health`);
      expect(health.status).toBe(200);
      const models = (await (await fetch(`${res.body.openai_base_url}/models`)).json()) as {
        data: Array<{ id: string; root: string; max_model_len: number }>;
      };
      expect(models.data).toEqual([
        expect.objectContaining({ id: 'my-model', root: `${fixture.run}/checkpoint-4`, max_model_len: 128 }),
      ]);
      const server = await t.call('GET', `/api/servers/${serverId}`);
      firstPid = server.body.pid;
      expect(server.body.command).toEqual(
        expect.arrayContaining(['--gpu-memory-utilization', String(FRACTION), '--tokenizer', fixture.run]),
      );
    },
    START_MS,
  );

  it('answers a chat completion through the OpenAI client and through the playground relay', async () => {
    const info = (await t.call('GET', `/api/servers/${serverId}`)).body;
    const client = new OpenAI({ baseURL: info.openai_base_url, apiKey: 'unused' });
    const chat = await client.chat.completions.create({
      model: 'my-model',
      messages: [{ role: 'user', content: 'the quick brown fox' }],
      max_tokens: 6,
      temperature: 0,
    });
    expect(chat.model).toBe('my-model');
    expect(typeof chat.choices[0]?.message.content).toBe('string');
    expect(chat.usage?.completion_tokens).toBeGreaterThan(0);
    expect(chat.usage?.completion_tokens).toBeLessThanOrEqual(6);
    const relayed = await relayChat(serverId);
    expect(relayed.completion_tokens).toBeGreaterThan(0);
    expect(relayed.completion_tokens).toBeLessThanOrEqual(6);
    expect(converter.runs()).toEqual([]);
  }, 120_000);

  it("shows vLLM's own log lines on the server's card (the logs API)", async () => {
    const logs = await t.call('GET', `/api/servers/${serverId}/logs?tail=5000`);
    expect(logs.status).toBe(200);
    const text = JSON.stringify(logs.body);
    expect(text).toContain('Application startup complete.');
    expect(text).toMatch(/vLLM API server version 0\.\d+|non-default args/);
    expect(text).toContain('POST /v1/chat/completions HTTP/1.1\\" 200');
  });

  it('a second deploy on the taken port is a 409 naming a free one, and starts nothing', async () => {
    const info = (await t.call('GET', `/api/servers/${serverId}`)).body;
    const before = survivors().length;
    const res = await t.call('POST', '/api/training/deploy', {
      job_id: jobId,
      server_type: 'vllm',
      name: 'second',
      config: { port: info.port, gpu_memory_utilization: FRACTION, max_model_len: 128 },
    });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('PORT_IN_USE');
    expect(res.body.error.message).toContain(String(info.port));
    const free = /\((\d+) is free\)/.exec(res.body.error.hint)?.[1];
    expect(Number(free)).not.toBe(info.port);
    expect(survivors().length).toBe(before);
  });

  it(
    'restarts: a new process, healthy and answering again',
    async () => {
      const res = await t.call('POST', `/api/servers/${serverId}/restart`);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body.status).toBe('running');
      expect(res.body.pid).not.toBe(firstPid);
      expect((await relayChat(serverId)).completion_tokens).toBeGreaterThan(0);
    },
    START_MS,
  );

  it('a vLLM crash (kill -9 of the API server) is seen, reported, and leaves no worker behind', async () => {
    const info = (await t.call('GET', `/api/servers/${serverId}`)).body;
    process.kill(info.pid, 'SIGKILL');
    await waitFor(() => t.core.servers.get(serverId).status === 'crashed', 10_000, 'the crash');
    const crashed = (await t.call('GET', `/api/servers/${serverId}`)).body;
    expect(crashed.status).toBe('crashed');
    expect(crashed.exit).toEqual({ code: null, signal: 'SIGKILL' });
    expect(crashed.error.code).toBe('SERVER_CRASHED');
    await waitFor(() => survivors().length === 0, 20_000, "vLLM's engine core to be killed");
    const logs = JSON.stringify((await t.call('GET', `/api/servers/${serverId}/logs?tail=50`)).body);
    expect(logs).toContain(`process ${info.pid} exited (signal SIGKILL)`);
  }, 60_000);

  it(
    'stops with no process left',
    async () => {
      const res = await t.call('POST', `/api/servers/${serverId}/restart`);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(survivors().length).toBeGreaterThan(1); // the API server and its engine core
      const stopped = await t.call('POST', `/api/servers/${serverId}/stop`);
      expect(stopped.status).toBe(200);
      expect(stopped.body.status).toBe('stopped');
      expect(survivors()).toEqual([]);
      expect(converter.runs()).toEqual([]);
    },
    START_MS,
  );

  it("the stand-in's log lines are the real vLLM's (same lines once pids, times, ports are set aside)", async () => {
    const server = (await t.call('GET', `/api/servers/${serverId}`)).body;
    const logs = (await t.call('GET', `/api/servers/${serverId}/logs?tail=5000`)).body as Array<{
      line: string;
    }>;
    const real = new Set(logs.map((l) => shape(l.line)));
    // the stand-in on the very command line Berth gave the real vLLM: start, one health check, SIGTERM
    const standin = await runStandin(server.command as string[]);
    const own = standin.filter((l) => !l.includes('[berth stand-in]'));
    expect(own.length).toBeGreaterThan(15);
    expect(own.map(shape).filter((l) => !real.has(l))).toEqual([]);
  }, 60_000);

  it(
    'serves a real PEFT LoRA adapter over its base model',
    async (ctx) => {
      if (!fixture.adapter) ctx.skip(); // make_vllm_run.py found no peft in python/.venv
      const job = await t.call('POST', '/api/training/jobs', { path: fixture.adapter });
      expect([200, 201]).toContain(job.status);
      const res = await t.call('POST', '/api/training/deploy', {
        job_id: job.body.id,
        server_type: 'vllm',
        name: 'my-adapter',
        config: { gpu_memory_utilization: FRACTION, max_model_len: 128, dtype: 'float32' },
      });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      const models = (await (await fetch(`${res.body.openai_base_url}/models`)).json()) as {
        data: Array<{ id: string; root: string; parent: string | null }>;
      };
      expect(models.data).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ id: 'my-adapter-base', root: fixture.run }),
          expect.objectContaining({ id: 'my-adapter', root: fixture.adapter, parent: 'my-adapter-base' }),
        ]),
      );
      const client = new OpenAI({ baseURL: res.body.openai_base_url, apiKey: 'unused' });
      const chat = await client.chat.completions.create({
        model: 'my-adapter',
        messages: [{ role: 'user', content: 'the quick brown fox' }],
        max_tokens: 4,
      });
      expect(chat.model).toBe('my-adapter');
      expect(chat.usage?.completion_tokens).toBeGreaterThan(0);
      expect((await relayChat(res.body.server_id)).completion_tokens).toBeGreaterThan(0);
      await t.call('POST', `/api/servers/${res.body.server_id}/stop`);
      expect(survivors()).toEqual([]);
      expect(converter.runs()).toEqual([]);
    },
    START_MS,
  );
});

describe.skipIf(skip === undefined)('real vLLM suite', () => {
  it.skip(`skipped: ${skip}`, () => {});
});
