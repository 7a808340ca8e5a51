import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readChatStream } from '../../../../renderer/src/api/http-bridge.js';
import { TINY_GGUF } from '../../engine/__fixtures__/fixtures.js';
import { survivors } from '../../servers/test-support/standin.js';
import { makeTestApi } from '../../test-support/core.js';

// The playground's chat relay, through the real API to the real built-in engine on a real GGUF, read by the
// same stream reader the browser UI uses.
type Api = Awaited<ReturnType<typeof makeTestApi>>;
let t: Api;
let serverId: string;

beforeAll(async () => {
  t = await makeTestApi();
  const res = await t.call('POST', '/api/training/deploy', {
    model_path: TINY_GGUF,
    server_type: 'llamacpp',
    name: 'tiny-chat',
  });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  serverId = res.body.server_id;
});
afterAll(async () => {
  await t.dispose();
  expect(survivors()).toEqual([]);
});

describe('POST /api/servers/:id/chat', () => {
  it('streams the reply as deltas and reports tokens, speed and first-token time', async () => {
    const res = await fetch(`${t.api.url}/api/servers/${serverId}/chat`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.api.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: 'Hello' }], max_tokens: 8, temperature: 0 }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const deltas: string[] = [];
    const result = await readChatStream(
      res.body as ReadableStream<Uint8Array<ArrayBuffer>>,
      performance.now(),
      (d) => deltas.push(d),
    );
    expect(result.completion_tokens).toBeGreaterThan(0);
    expect(result.completion_tokens).toBeLessThanOrEqual(8);
    expect(result.text).toBe(deltas.join(''));
    expect(result.first_token_ms).toBeGreaterThan(0);
  });

  it('is the same reply as asking the server directly (temperature 0)', async () => {
    const direct = await fetch(
      `${(await t.call('GET', `/api/servers/${serverId}`)).body.openai_base_url}/chat/completions`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          model: 'tiny-chat',
          messages: [{ role: 'user', content: 'Hi there' }],
          max_tokens: 6,
          temperature: 0,
        }),
      },
    );
    const expected = ((await direct.json()) as { choices: Array<{ message: { content: string } }> })
      .choices[0]!.message.content;
    const relayed = await fetch(`${t.api.url}/api/servers/${serverId}/chat`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.api.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        messages: [{ role: 'user', content: 'Hi there' }],
        max_tokens: 6,
        temperature: 0,
      }),
    });
    const result = await readChatStream(
      relayed.body as ReadableStream<Uint8Array<ArrayBuffer>>,
      performance.now(),
      () => {},
    );
    expect(result.text).toBe(expected);
  });

  it('reaches a server started with an API key (the key never leaves the core)', async () => {
    const res = await t.call('POST', '/api/training/deploy', {
      model_path: TINY_GGUF,
      server_type: 'llamacpp',
      name: 'tiny-keyed',
      config: { api_key: 'sk-berth-test' },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(JSON.stringify(res.body)).not.toContain('sk-berth-test');
    const direct = await fetch(`${res.body.openai_base_url}/models`);
    expect(direct.status).toBe(401);
    const relayed = await fetch(`${t.api.url}/api/servers/${res.body.server_id}/chat`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.api.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: 'Hi' }], max_tokens: 3, temperature: 0 }),
    });
    const result = await readChatStream(
      relayed.body as ReadableStream<Uint8Array<ArrayBuffer>>,
      performance.now(),
      () => {},
    );
    expect(result.completion_tokens).toBeGreaterThan(0);
    await t.call('DELETE', `/api/servers/${res.body.server_id}`);
  });

  it('refuses a stopped server and a bad body', async () => {
    const bad = await t.call('POST', `/api/servers/${serverId}/chat`, { messages: [] });
    expect(bad.status).toBe(400);
    await t.call('POST', `/api/servers/${serverId}/stop`);
    const stopped = await t.call('POST', `/api/servers/${serverId}/chat`, {
      messages: [{ role: 'user', content: 'x' }],
    });
    expect(stopped.status).toBe(409);
    expect(stopped.body.error.code).toBe('SERVER_NOT_RUNNING');
  });
});
