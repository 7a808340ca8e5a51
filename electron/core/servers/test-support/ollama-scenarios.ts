// The Ollama scenarios Berth's tests run: against the Ollama stand-in here (test-standins/ollama), and against a
// real `ollama` where one is installed. Each scenario deploys the real tiny GGUF through the real ServerManager.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import { afterEach, expect, it } from 'vitest';
import type { ServerInfo } from '../../../../shared/servers.js';
import { freePort } from '../../engine/__fixtures__/engine-process.js';
import { TINY_GGUF } from '../../engine/__fixtures__/fixtures.js';
import { BerthError } from '../../errors.js';
import { makeTestCore } from '../../test-support/core.js';
import type { Backend, PreparedModel, StageContext } from '../backend.js';
import { createOllamaBackend, findOllama } from '../backends/ollama.js';
import { survivors, withStandinKnobs } from './standin.js';

export interface ScenarioOptions {
  /** PATH on which `ollama` is found (the stand-in's folder first, or the system PATH). */
  path: string;
  /** Runs stand-in-only checks (knobs the real Ollama does not have). */
  standin: boolean;
}

const cleanups: Array<() => void | Promise<void>> = [];

function tempDir(prefix: string) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function recordingContext() {
  const logs: string[] = [];
  const stages: string[] = [];
  const ctx: StageContext = {
    signal: new AbortController().signal,
    stage: (stage, state) => stages.push(`${stage}:${state}`),
    progress: () => {},
    log: (line) => logs.push(line),
  };
  return { ctx, logs, stages };
}

/** Starts `ollama serve` as "the user's own Ollama" on a free port; stopped after the test. */
async function externalOllama(binary: string, env: NodeJS.ProcessEnv): Promise<string> {
  const port = await freePort();
  const child = spawn(binary, ['serve'], {
    env: { ...env, OLLAMA_HOST: `127.0.0.1:${port}` },
    stdio: 'ignore',
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  cleanups.push(async () => {
    child.kill('SIGTERM');
    await exited;
  });
  const url = `http://127.0.0.1:${port}`;
  const end = Date.now() + 30_000;
  while (Date.now() < end) {
    if (
      await fetch(`${url}/api/version`).then(
        (r) => r.ok,
        () => false,
      )
    )
      return url;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the external ollama did not start');
}

export function ollamaScenarios(options: ScenarioOptions): void {
  async function setup(hostUrl?: string) {
    const models = tempDir('berth-ollama-models-');
    const env = { ...process.env, PATH: options.path, OLLAMA_MODELS: models };
    const t = await makeTestCore({ env });
    cleanups.push(t.dispose);
    // Nothing listens on the configured host unless a test starts an "external" Ollama there.
    t.core.settings.update({ ollama: { host: hostUrl ?? `http://127.0.0.1:${await freePort()}` } });
    const backend = createOllamaBackend({
      settings: () => t.core.settings.get(),
      env,
      convert: async () => {
        throw new Error('a .gguf input never converts');
      },
    });
    const deploy = async (name: string, gguf = TINY_GGUF, use: Backend = backend) => {
      const { ctx, logs, stages } = recordingContext();
      const model = await use.prepare(
        { model_path: gguf, model_name: name, config: { context_length: 512 } },
        ctx,
      );
      const info = await t.core.servers.start({ name, backend: use, model, ctx });
      return { info, logs, stages, model };
    };
    return { core: t.core, env, models, backend, deploy };
  }

  afterEach(async () => {
    for (const fn of cleanups.splice(0).reverse()) await fn();
    expect(survivors()).toEqual([]);
  });

  it('starts its own ollama serve, imports the GGUF by digest, and serves chat through /v1', async () => {
    const { core, deploy } = await setup();
    const { info, stages, logs } = await deploy('tiny-ollama');
    expect(info).toMatchObject({ status: 'running', server_type: 'ollama', gguf_path: TINY_GGUF });
    expect(info.command?.slice(-1)).toEqual(['serve']);
    expect(stages).toEqual(['convert:skipped', 'quantize:skipped', 'import:started', 'import:done']);
    expect(logs.some((l) => l.includes('ollama create: success'))).toBe(true);

    const client = new Ollama({ host: info.base_url });
    const show = await client.show({ model: 'tiny-ollama' });
    expect(show.parameters).toMatch(/num_ctx\s+512/);
    expect((await client.list()).models.map((m) => m.name)).toContain('tiny-ollama:latest');
    expect((await client.ps()).models.map((m) => m.name)).toContain('tiny-ollama:latest'); // warmed up

    const openai = new OpenAI({ baseURL: `${info.base_url}/v1`, apiKey: 'ollama', maxRetries: 0 });
    const answer = await openai.chat.completions.create({
      model: 'tiny-ollama',
      messages: [{ role: 'user', content: 'hi' }],
      max_tokens: 3,
      temperature: 0,
    });
    expect(answer.choices[0]?.message.role).toBe('assistant');
    expect(answer.usage?.completion_tokens).toBeGreaterThan(0);

    const streamed: string[] = [];
    for await (const part of await client.chat({
      model: 'tiny-ollama',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
      options: { num_predict: 3, temperature: 0 },
    })) {
      streamed.push(part.done ? 'DONE' : 'piece');
    }
    expect(streamed.at(-1)).toBe('DONE');
    expect(streamed.length).toBeGreaterThan(1);

    const stopped = await core.servers.stop('tiny-ollama');
    expect(stopped.status).toBe('stopped');
  });

  it('uses the Ollama already running at the configured host, unloads on stop, deletes on remove', async () => {
    const probe = await setup();
    const binary = findOllama(probe.core.settings.get(), probe.env) as string;
    const url = await externalOllama(binary, probe.env);
    const { core, deploy } = await setup(url);
    const { info, logs } = await deploy('tiny-external');
    expect(info.pid).toBeUndefined(); // Berth started nothing
    expect(logs).toContain(`using the Ollama running at ${url}`);
    // The card and the API show where the model really answers: the user's Ollama, not a port of Berth's.
    expect(info.base_url).toBe(url);
    expect(info.openai_base_url).toBe(`${url}/v1`);
    const client = new Ollama({ host: url });
    expect((await client.ps()).models.map((m) => m.name)).toContain('tiny-external:latest');

    await core.servers.stop('tiny-external');
    expect((await client.ps()).models).toEqual([]); // unloaded (keep_alive 0), server still up
    expect((await client.list()).models.map((m) => m.name)).toContain('tiny-external:latest');

    await core.servers.remove('tiny-external');
    expect((await client.list()).models.map((m) => m.name)).not.toContain('tiny-external:latest');
  });

  it('skips the upload when Ollama already has the digest, and removes from its own stopped Ollama', async () => {
    const { core, deploy, env } = await setup();
    await deploy('first');
    const second = await deploy('second');
    expect(second.logs.some((l) => /^ollama already has sha256:[0-9a-f]{64}$/.test(l))).toBe(true);
    await core.servers.remove('second');
    // Removing from Berth's own (stopped) Ollama runs it briefly; a fresh serve no longer lists the model.
    const url = await externalOllama(findOllama(core.settings.get(), env) as string, env);
    const names = (await new Ollama({ host: url }).list()).models.map((m) => m.name);
    expect(names).toContain('first:latest');
    expect(names).not.toContain('second:latest');
  });

  it('fails the import of a GGUF cut off midway with MODEL_LOAD_FAILED, leaving no process', async () => {
    const { deploy } = await setup();
    const broken = join(tempDir('berth-ollama-bad-'), 'broken.gguf');
    writeFileSync(broken, readFileSync(TINY_GGUF).subarray(0, 1_000_000));
    const error = await deploy('broken', broken).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BerthError);
    expect((error as BerthError).code).toBe('MODEL_LOAD_FAILED');
  });

  it.skipIf(!options.standin)(
    'reports Ollama\'s "requires more system memory" as OUT_OF_MEMORY',
    async () => {
      const { core, deploy, backend } = await setup();
      const lowMemory = withStandinKnobs(backend, { BERTH_STANDIN_OLLAMA_MEMORY_BYTES: '1000' });
      const error = await deploy('too-big', TINY_GGUF, lowMemory).catch((e: unknown) => e);
      expect((error as BerthError).code).toBe('OUT_OF_MEMORY');
      expect((error as BerthError).message).toMatch(/needs .* GiB of memory/);
      expect(core.servers.get('too-big').status).toBe('failed');
    },
  );
}

/** A PreparedModel for the tiny GGUF (for unit tests of the backend's parts). */
export function tinyPrepared(name: string): PreparedModel {
  return { model_path: TINY_GGUF, gguf_path: TINY_GGUF, model_name: name, config: {} };
}
export type { ServerInfo };
