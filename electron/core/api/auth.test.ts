import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestApi } from '../test-support/core.js';

// Every registered route, reached without a token through every spelling a router might normalise, must be
// refused. The variants are generated from the route table, so a route added later is covered without edits.

type TestApi = Awaited<ReturnType<typeof makeTestApi>>;
let t: TestApi;
let staticDir: string;
beforeAll(async () => {
  staticDir = mkdtempSync(join(tmpdir(), 'berth-static-'));
  writeFileSync(join(staticDir, 'index.html'), '<!doctype html><title>Berth</title>');
  t = await makeTestApi({ api: { staticDir } });
});
afterAll(async () => {
  await t.dispose();
  rmSync(staticDir, { recursive: true, force: true });
});

/** A request written byte for byte on a socket: no client library gets to normalise the path. */
function rawRequest(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const lines = [`${method} ${path} HTTP/1.1`, `Host: 127.0.0.1:${port}`, 'Connection: close'];
    for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
    const hasBody = method !== 'GET' && method !== 'DELETE';
    if (hasBody) lines.push('Content-Type: application/json', 'Content-Length: 2');
    socket.write(`${lines.join('\r\n')}\r\n\r\n${hasBody ? '{}' : ''}`);
    let data = '';
    socket.setEncoding('utf8');
    socket.on('data', (c) => {
      data += c;
      // SSE routes never end: the status line and headers are all we need.
      if (/content-type: text\/event-stream/i.test(data)) socket.destroy();
    });
    socket.on('close', () => {
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 0);
      resolve({ status, body: data.slice(data.indexOf('\r\n\r\n') + 4) });
    });
    socket.on('error', reject);
    socket.setTimeout(5000, () => socket.destroy(new Error(`timeout on ${method} ${path}`)));
  });
}

const pct = (c: string) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`;

/** Spellings of one path that a router or a path normaliser might treat as the same route. */
function spellings(path: string): string[] {
  const rest = path.slice('/api'.length); // e.g. /settings
  const out = new Set<string>();
  for (let i = 1; i < path.length; i++) {
    const c = path[i]!;
    if (c === '/') continue;
    out.add(path.slice(0, i) + pct(c) + path.slice(i + 1)); // one letter encoded
    out.add(path.slice(0, i) + pct(c).toUpperCase() + path.slice(i + 1));
  }
  out.add(`/${[...'api'].map(pct).join('')}${rest}`);
  out.add(`/%2561pi${rest}`); // double encoding
  out.add(`/%2Fapi${rest}`);
  out.add(`//api${rest}`);
  out.add(`/api/${rest}`);
  out.add(`/./api${rest}`);
  out.add(`/x/../api${rest}`);
  out.add(`/api/.${rest}`);
  out.add(`/api/x/..${rest}`);
  out.add(`/API${rest}`);
  out.add(`/Api${rest}`);
  out.add(`${path}/`);
  out.add(`${path}%20`);
  out.add(`${path}%00`);
  out.add(`${path};x=1`);
  out.add(`/api;x=1${rest}`);
  out.add(`${path}?x=1`);
  out.add(`${path}#x`);
  out.add(`/api\\${rest.slice(1)}`);
  out.add(`/api%5c${rest.slice(1)}`);
  out.add(`${path}%3fx=1`);
  out.add(path);
  return [...out];
}

describe("requests the router cannot parse answer in Berth's error shape", () => {
  it.each(['/%', '/api/%', '/%zz', '/api/servers/%E0%A4%A'])('a malformed path: %s', async (path) => {
    const res = await rawRequest(t.api.port, 'GET', path);
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body)).toMatchObject({
      success: false,
      error: { code: 'INVALID_REQUEST', hint: expect.any(String) },
    });
  });

  it('too-long headers: 431 with code, message and hint', async () => {
    const res = await rawRequest(t.api.port, 'GET', '/api/app', { 'X-Big': 'x'.repeat(64 * 1024) });
    expect(res.status).toBe(431);
    expect(JSON.parse(res.body)).toMatchObject({
      success: false,
      error: { code: 'HEADERS_TOO_LARGE', hint: expect.any(String) },
    });
  });

  it('garbage on the socket: 400 in the same shape', async () => {
    const res = await rawRequest(t.api.port, 'GET / HTTP/9\r\nbad', '/');
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body).error.code).toBe('INVALID_REQUEST');
  });
});

describe('the token check cannot be bypassed by how a path is spelled', () => {
  it('covers every route in the table (a new route is covered without editing this test)', () => {
    expect(t.api.routes.length).toBeGreaterThan(20);
    expect(t.api.routes.map((r) => r.path)).toContain('/api/settings');
    expect(t.api.routes.map((r) => r.path)).toContain('/api/openapi.json');
  });

  it('refuses every spelling of every route without a token, and never runs its handler', async () => {
    const ran: string[] = [];
    const off = t.api.onHandled((route) => ran.push(route));
    const leaks: string[] = [];
    for (const route of t.api.routes) {
      const path = route.path.replace(/:(\w+)/g, 'x');
      for (const spelled of spellings(path)) {
        const res = await rawRequest(t.api.port, route.method, spelled);
        // 401: refused for the token. 400/404: no route (or a malformed path) and nothing served but an
        // error in Berth's shape. The static UI may answer index.html for a path the router did not match,
        // which is public anyway. Anything else, and any JSON success, is a leak.
        const isError = /"success":false/.test(res.body);
        const isUi = res.status === 200 && res.body.includes('<title>Berth</title>');
        const ok = (res.status === 401 && isError) || ([400, 404].includes(res.status) && isError) || isUi;
        if (!ok) leaks.push(`${route.method} ${spelled} -> ${res.status} ${res.body.slice(0, 80)}`);
      }
    }
    off();
    expect(leaks).toEqual([]);
    expect(ran).toEqual([]);
  });

  it('answers 401 (not 404) to a spelling the router matches to a route', async () => {
    for (const spelled of ['/%61pi/settings', '/a%70i/settings', '/api/%73ettings', '/%61%70%69/app']) {
      const res = await rawRequest(t.api.port, 'GET', spelled);
      expect(res.status, spelled).toBe(401);
    }
    const regen = await rawRequest(t.api.port, 'POST', '/%61pi/token/regenerate');
    expect(regen.status).toBe(401);
  });

  it('still serves the UI without a token, and the API with one under any matched spelling', async () => {
    const ui = await rawRequest(t.api.port, 'GET', '/servers');
    expect(ui.status).toBe(200);
    expect(ui.body).toContain('<title>Berth</title>');
    const auth = { Authorization: `Bearer ${t.api.token}` };
    const plain = await rawRequest(t.api.port, 'GET', '/api/app', auth);
    const encoded = await rawRequest(t.api.port, 'GET', '/%61pi/app', auth);
    expect(plain.status).toBe(200);
    expect(encoded.status).toBe(200);
  });

  it('refuses unmatched non-static requests without a token', async () => {
    const res = await rawRequest(t.api.port, 'POST', '/anything');
    expect(res.status).toBe(401);
    const del = await rawRequest(t.api.port, 'DELETE', '/%61pi/nope');
    expect(del.status).toBe(401);
  });
});
