import { chmodSync, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTestApi } from '../test-support/core.js';

type TestApi = Awaited<ReturnType<typeof makeTestApi>>;
let t: TestApi;
beforeEach(async () => {
  t = await makeTestApi();
});
afterEach(async () => {
  await t.dispose();
});

/** A raw request, so the Host header can be anything (fetch refuses to forge it). */
function raw(path: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${t.api.url}${path}`, { headers }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('local API guards', () => {
  it('listens on loopback only by default', () => {
    expect(t.api.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('refuses requests without a token, or with a wrong one, with a hint naming the token file', async () => {
    const none = await t.call('GET', '/api/app', undefined, { authorization: '' });
    expect(none.status).toBe(401);
    expect(none.body.error.code).toBe('UNAUTHORIZED');
    expect(none.body.error.hint).toContain(t.core.paths.tokenFile);
    const wrong = await t.call('GET', '/api/app', undefined, { authorization: `Bearer ${t.api.token}x` });
    expect(wrong.status).toBe(401);
  });

  it('keeps the token in a 0600 file', () => {
    expect(statSync(t.core.paths.tokenFile).mode & 0o777).toBe(0o600);
  });

  it('refuses a foreign Host (DNS rebinding) even with the right token', async () => {
    const res = await raw('/api/app', { host: 'evil.example:80', authorization: `Bearer ${t.api.token}` });
    expect(res.status).toBe(403);
    expect(JSON.parse(res.body).error.code).toBe('FORBIDDEN_HOST');
    const ok = await raw('/api/app', {
      host: `localhost:${t.api.port}`,
      authorization: `Bearer ${t.api.token}`,
    });
    expect(ok.status).toBe(200);
  });

  it('refuses a foreign Origin and sends no CORS headers', async () => {
    const res = await t.call('GET', '/api/app', undefined, { origin: 'https://evil.example' });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('FORBIDDEN_ORIGIN');
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    const same = await t.call('GET', '/api/app', undefined, { origin: t.api.url });
    expect(same.status).toBe(200);
  });

  it('limits body size', async () => {
    const res = await t.call(
      'PATCH',
      '/api/settings',
      JSON.stringify({ roots: ['x'.repeat(2 * 1024 * 1024)] }),
    );
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('answers unknown routes and bad JSON with the error shape', async () => {
    const missing = await t.call('GET', '/api/nope');
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ success: false, error: { code: 'NOT_FOUND' } });
    const bad = await t.call('PATCH', '/api/settings', '{not json');
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('INVALID_REQUEST');
  });
});

describe('settings over HTTP', () => {
  it('validates, persists and announces changes', async () => {
    const events: string[] = [];
    t.core.bus.subscribe((e) => events.push(e.type));
    const invalid = await t.call('PATCH', '/api/settings', { ports: { vllm: 'eight thousand' } });
    expect(invalid.status).toBe(400);
    expect(invalid.body.error.message).toContain('ports.vllm');
    const res = await t.call('PATCH', '/api/settings', { ports: { vllm: 8100 }, keep_servers_on_quit: true });
    expect(res.status).toBe(200);
    expect(res.body.ports).toEqual({ vllm: 8100, ollama: 11434, llamacpp: 8080 });
    expect((await t.call('GET', '/api/settings')).body.keep_servers_on_quit).toBe(true);
    expect(events).toContain('settings.changed');
  });

  it('clears an optional path with null (back to the default)', async () => {
    t.core.settings.update({ python: { vllm: process.execPath } });
    expect((await t.call('GET', '/api/settings')).body.python.vllm).toBe(process.execPath);
    const cleared = await t.call('PATCH', '/api/settings', { python: { vllm: null } });
    expect(cleared.status).toBe(200);
    expect(cleared.body.python).toEqual({});
    const bad = await t.call('PATCH', '/api/settings', { ollama: { host: null } });
    expect(bad.status).toBe(400);
  });

  it('never runs a program named over the API until the user applies it (no PATCH-then-GET chain)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-chain-'));
    const marker = join(dir, 'ran');
    const program = join(dir, 'python');
    writeFileSync(program, `#!/bin/sh\ntouch ${marker}\nexit 1\n`);
    chmodSync(program, 0o755);
    try {
      const patched = await t.call('PATCH', '/api/settings', { python: { converter: program } });
      expect(patched.status).toBe(200);
      expect(patched.body.python.converter).toBeUndefined();
      await t.call('GET', '/api/conversions/env');
      await t.call('GET', '/api/system?refresh=1');
      expect(existsSync(marker)).toBe(false);
      const pending = await t.call('GET', '/api/settings/pending');
      expect(pending.body).toEqual([expect.objectContaining({ key: 'python.converter', value: program })]);
      const applied = await t.call('POST', '/api/settings/pending/apply', { key: 'python.converter' });
      expect(applied.body.python.converter).toBe(program);
      await t.call('GET', '/api/conversions/env');
      expect(existsSync(marker)).toBe(true); // applied: now it is the user's choice
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses program settings that are not executable files, and a non-loopback API address', async () => {
    const rel = await t.call('PATCH', '/api/settings', { python: { vllm: 'bin/python' } });
    expect(rel.status).toBe(400);
    const dir = await t.call('PATCH', '/api/settings', { ollama: { binary: tmpdir() } });
    expect(dir.status).toBe(400);
    expect(dir.body.error).toMatchObject({ code: 'INVALID_SETTING', hint: expect.any(String) });
    const host = await t.call('PATCH', '/api/settings', { api: { host: '0.0.0.0' } });
    expect(host.status).toBe(403);
    expect(host.body.error.code).toBe('SETTING_LOCKED');
  });

  it('regenerates the token: the old one stops working at once', async () => {
    const old = t.api.token;
    const res = await t.call('POST', '/api/token/regenerate');
    expect(res.status).toBe(200);
    expect(res.body.token).not.toBe(old);
    expect((await t.call('GET', '/api/app', undefined, { authorization: `Bearer ${old}` })).status).toBe(401);
    expect(
      (await t.call('GET', '/api/app', undefined, { authorization: `Bearer ${res.body.token}` })).status,
    ).toBe(200);
  });
});

describe('events and OpenAPI', () => {
  it('streams core events over SSE', async () => {
    const controller = new AbortController();
    const res = await fetch(`${t.api.url}/api/events`, {
      headers: { authorization: `Bearer ${t.api.token}` },
      signal: controller.signal,
    });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const reader = res.body!.getReader();
    await reader.read(); // the opening comment
    t.core.bus.emit({ type: 'jobs.changed' });
    let text = '';
    while (!text.includes('\n\n') || !text.includes('data:')) {
      const { value } = await reader.read();
      text += new TextDecoder().decode(value);
    }
    expect(text).toContain('data: {"type":"jobs.changed"}');
    controller.abort();
  });

  it('documents every route in /api/openapi.json', async () => {
    const res = await t.call('GET', '/api/openapi.json');
    expect(res.status).toBe(200);
    expect(res.body.openapi).toBe('3.1.0');
    expect(Object.keys(res.body.paths)).toEqual(
      expect.arrayContaining(['/api/app', '/api/settings', '/api/events']),
    );
    expect(res.body.paths['/api/settings'].patch.requestBody).toBeDefined();
  });
});
