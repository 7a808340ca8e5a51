// The built-in engine end to end: a real child process, the real tiny GGUF, the official openai client.
// The fixture has random weights, so the assertions are on structure, token counts and determinism, not text.
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EngineProcess, startEngine } from './__fixtures__/engine-process.js';
import { TINY_GGUF } from './__fixtures__/fixtures.js';

const COMMON = ['--name', 'tiny', '--ctx', '512', '--threads', '1', '--gpu', 'cpu'];
const messages = [
  { role: 'system' as const, content: 'You are terse.' },
  { role: 'user' as const, content: 'Say hello.' },
];

describe('engine over HTTP', () => {
  let engine: EngineProcess;
  let client: OpenAI;

  beforeAll(async () => {
    engine = await startEngine(['--model', TINY_GGUF, '--parallel', '2', ...COMMON]);
    await engine.ready();
    client = new OpenAI({ baseURL: `${engine.baseUrl}/v1`, apiKey: 'unused', maxRetries: 0 });
  });
  afterAll(async () => {
    const exit = await engine?.kill('SIGTERM');
    expect(exit?.code).toBe(0);
    expect(engine.lines).toContain('engine: stopped');
  });

  it('reports health and lists the served model', async () => {
    const health = await fetch(`${engine.baseUrl}/health`).then((r) => r.json());
    expect(health).toMatchObject({ status: 'ok', model: 'tiny', contextSize: 512, parallel: 2 });
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual(['tiny']);
    expect(await client.models.retrieve('tiny')).toMatchObject({
      id: 'tiny',
      object: 'model',
      owned_by: 'berth',
    });
    await expect(client.models.retrieve('other')).rejects.toMatchObject({ status: 404 });
  });

  it('answers a chat with usage counts, deterministically at temperature 0', async () => {
    const ask = () =>
      client.chat.completions.create({
        model: 'tiny',
        messages,
        max_tokens: 8,
        temperature: 0,
      });
    const [a, b] = [await ask(), await ask()];
    expect(a.object).toBe('chat.completion');
    expect(a.choices).toHaveLength(1);
    expect(a.choices[0]?.message.role).toBe('assistant');
    expect(a.choices[0]?.finish_reason).toBe('length');
    expect(a.usage?.completion_tokens).toBe(8);
    expect(a.usage?.prompt_tokens).toBeGreaterThan(5);
    expect(a.usage?.total_tokens).toBe((a.usage?.prompt_tokens ?? 0) + 8);
    expect(a.choices[0]?.message.content).toBe(b.choices[0]?.message.content);
    expect(a.choices[0]?.message.content?.length).toBeGreaterThan(0);
  });

  it('streams the same chat the non-streamed call returns', async () => {
    const whole = await client.chat.completions.create({
      model: 'tiny',
      messages,
      max_tokens: 6,
      temperature: 0,
    });
    const stream = await client.chat.completions.create({
      model: 'tiny',
      messages,
      max_tokens: 6,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    const finishes: string[] = [];
    let usage: OpenAI.CompletionUsage | undefined;
    let chunks = 0;
    for await (const chunk of stream) {
      chunks++;
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.choices[0]?.finish_reason) finishes.push(chunk.choices[0].finish_reason);
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe(whole.choices[0]?.message.content);
    expect(chunks).toBeGreaterThan(3);
    expect(finishes).toEqual(['length']);
    expect(usage).toEqual(whole.usage);
  });

  it('completes a raw prompt, streamed and not', async () => {
    const whole = await client.completions.create({
      model: 'tiny',
      prompt: 'Once upon a time',
      max_tokens: 5,
      temperature: 0,
    });
    expect(whole.object).toBe('text_completion');
    expect(whole.usage?.completion_tokens).toBe(5);
    expect(whole.usage?.prompt_tokens).toBeGreaterThanOrEqual(5);
    const stream = await client.completions.create({
      model: 'tiny',
      prompt: 'Once upon a time',
      max_tokens: 5,
      temperature: 0,
      stream: true,
    });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.text ?? '';
    expect(text).toBe(whole.choices[0]?.text);
  });

  it('repeats a sampled answer for the same seed', async () => {
    const ask = (seed: number) =>
      client.completions.create({
        model: 'tiny',
        prompt: 'The sea',
        max_tokens: 12,
        temperature: 1,
        top_p: 0.95,
        seed,
      });
    const [a, b] = [await ask(7), await ask(7)];
    expect(a.choices[0]?.text).toBe(b.choices[0]?.text);
  });

  it('stops at a stop string and leaves it out', async () => {
    const full = await client.completions.create({
      model: 'tiny',
      prompt: 'Hello',
      max_tokens: 12,
      temperature: 0,
    });
    const text = full.choices[0]?.text ?? '';
    const stop = text.split(' ').filter(Boolean)[2] ?? '';
    expect(stop.length).toBeGreaterThan(0);
    const stopped = await client.completions.create({
      model: 'tiny',
      prompt: 'Hello',
      max_tokens: 12,
      temperature: 0,
      stop: ['#never#', stop],
    });
    expect(stopped.choices[0]?.finish_reason).toBe('stop');
    // node-llama-cpp drops the part of the stopping token before the trigger (here: SentencePiece's leading
    // space), so compare without trailing whitespace.
    expect(stopped.choices[0]?.text?.trimEnd()).toBe(text.slice(0, text.indexOf(stop)).trimEnd());

    const chat = await client.chat.completions.create({
      model: 'tiny',
      messages,
      max_tokens: 12,
      temperature: 0,
    });
    const answer = chat.choices[0]?.message.content ?? '';
    const chatStop = answer.split(' ').filter(Boolean)[2] ?? '';
    const chatStopped = await client.chat.completions.create({
      model: 'tiny',
      messages,
      max_tokens: 12,
      temperature: 0,
      stop: chatStop,
    });
    expect(chatStopped.choices[0]?.finish_reason).toBe('stop');
    expect(chatStopped.choices[0]?.message.content?.trimEnd()).toBe(
      answer.slice(0, answer.indexOf(chatStop)).trimEnd(),
    );
  });

  it('serves concurrent requests (more than its parallel sequences) with the same answers as one by one', async () => {
    const ask = (content: string) =>
      client.chat.completions.create({
        model: 'tiny',
        messages: [{ role: 'user', content }],
        max_tokens: 6,
        temperature: 0,
      });
    const prompts = ['one', 'two', 'three', 'four'];
    const serial: string[] = [];
    for (const p of prompts) serial.push((await ask(p)).choices[0]?.message.content ?? '');
    const parallel = await Promise.all(prompts.map(ask));
    expect(parallel.map((r) => r.choices[0]?.message.content)).toEqual(serial);
  });

  it('stops generating when the client disconnects, and keeps serving', async () => {
    const abort = new AbortController();
    const res = await fetch(`${engine.baseUrl}/v1/completions`, {
      method: 'POST',
      body: JSON.stringify({ prompt: 'Go on', max_tokens: 400, temperature: 0, stream: true }),
      signal: abort.signal,
    });
    const reader = res.body?.getReader();
    await reader?.read(); // the first chunk arrived: generation is under way
    abort.abort();
    const closed = () => engine.lines.some((l) => /POST \/v1\/completions closed by the client/.test(l));
    for (let i = 0; i < 100 && !closed(); i++) await new Promise((r) => setTimeout(r, 50));
    expect(closed()).toBe(true);
    const next = await client.completions.create({
      model: 'tiny',
      prompt: 'Hi',
      max_tokens: 2,
      temperature: 0,
    });
    expect(next.usage?.completion_tokens).toBe(2);
  });

  it('answers bad requests with OpenAI-style errors', async () => {
    await expect(client.chat.completions.create({ model: 'tiny', messages: [] })).rejects.toMatchObject({
      status: 400,
      error: { type: 'invalid_request_error', param: 'messages' },
    });
    await expect(client.chat.completions.create({ model: 'other', messages })).rejects.toMatchObject({
      status: 404,
      code: 'model_not_found',
    });
    const notJson = await fetch(`${engine.baseUrl}/v1/completions`, { method: 'POST', body: '{' });
    expect(notJson.status).toBe(400);
    expect(((await notJson.json()) as { error: { message: string } }).error.message).toMatch(/JSON/);
    const huge = await fetch(`${engine.baseUrl}/v1/completions`, {
      method: 'POST',
      body: JSON.stringify({ prompt: 'x'.repeat(5 * 1024 * 1024) }),
    });
    expect(huge.status).toBe(413);
    const tooLong = await client.completions
      .create({ model: 'tiny', prompt: 'word '.repeat(600), max_tokens: 1 })
      .catch((e) => e);
    expect(tooLong).toMatchObject({ status: 400, code: 'context_length_exceeded' });
    const unknown = await fetch(`${engine.baseUrl}/v1/embeddings`, { method: 'POST', body: '{}' });
    expect(unknown.status).toBe(404);
  });

  it('binds only the host it was given', async () => {
    const external = Object.values(networkInterfaces())
      .flat()
      .find((i) => i && i.family === 'IPv4' && !i.internal);
    if (!external) return void console.warn('skipped: this machine has no non-loopback IPv4 address to try');
    const reached = await fetch(`http://${external.address}:${engine.port}/health`).then(
      () => true,
      () => false,
    );
    expect(reached).toBe(false);
  });
});

describe('engine process lifecycle', () => {
  it('requires the API key when one is set (health stays open)', async () => {
    const engine = await startEngine(['--model', TINY_GGUF, '--api-key', 's3cret', ...COMMON]);
    try {
      await engine.ready();
      const denied = new OpenAI({ baseURL: `${engine.baseUrl}/v1`, apiKey: 'wrong', maxRetries: 0 });
      await expect(denied.models.list()).rejects.toMatchObject({ status: 401 });
      const allowed = new OpenAI({ baseURL: `${engine.baseUrl}/v1`, apiKey: 's3cret', maxRetries: 0 });
      expect((await allowed.models.list()).data[0]?.id).toBe('tiny');
    } finally {
      await engine.kill();
    }
  });

  it('dies at once on kill -9 and frees its port', async () => {
    const engine = await startEngine(['--model', TINY_GGUF, ...COMMON]);
    await engine.ready();
    const exit = await engine.kill('SIGKILL');
    expect(exit).toEqual({ code: null, signal: 'SIGKILL' });
    await expect(fetch(`${engine.baseUrl}/health`)).rejects.toThrow();
  });

  it.each([
    ['a file that is not a GGUF', Buffer.from('this is not a gguf file')],
    ['a GGUF with a corrupt header', Buffer.from('GGUF but then nothing that makes sense')],
    ['a GGUF cut off in its metadata', readFileSync(TINY_GGUF).subarray(0, 3000)],
    ['a GGUF cut off in its tensor data', readFileSync(TINY_GGUF).subarray(0, 1_000_000)],
  ])('exits with a coded error line for %s', async (_what, bytes) => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-engine-'));
    try {
      const bad = join(dir, 'broken.gguf');
      writeFileSync(bad, bytes);
      const engine = await startEngine(['--model', bad, ...COMMON]);
      const exit = await engine.exited;
      expect(exit.code).toBe(4);
      expect(engine.lines.some((l) => l.startsWith('engine: error MODEL_LOAD_FAILED:'))).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('exits with a coded error line for a missing model and bad arguments', async () => {
    const missing = await startEngine(['--model', '/nonexistent/x.gguf', ...COMMON]);
    expect((await missing.exited).code).toBe(2);
    expect(missing.lines.join('\n')).toMatch(/engine: error MODEL_NOT_FOUND/);
    const bad = await startEngine(['--model', TINY_GGUF, '--name', 'tiny', '--gpu', 'quantum']);
    expect((await bad.exited).code).toBe(2);
    expect(bad.lines.join('\n')).toMatch(/engine: error INVALID_ARGUMENTS: .*--gpu/);
  });
});
