import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ApiServer, type ApiServerOptions, startApiServer } from '../api/server.js';
import { type Core, type CoreOptions, createCore } from '../app.js';

/** A real core in a fresh temporary BERTH_HOME; `dispose` closes it and deletes the folder. */
export async function makeTestCore(
  options: Partial<CoreOptions> = {},
): Promise<{ core: Core; home: string; dispose(): Promise<void> }> {
  const home = options.home ?? mkdtempSync(join(tmpdir(), 'berth-test-'));
  const core = await createCore({ mode: 'headless', ...options, home });
  return {
    core,
    home,
    async dispose() {
      await core.close();
      rmSync(home, { recursive: true, force: true });
    },
  };
}

/** A real core plus its HTTP API on a free loopback port, with a fetch that sends the token. */
export async function makeTestApi(options: Partial<CoreOptions> & { api?: ApiServerOptions } = {}) {
  const t = await makeTestCore(options);
  const api: ApiServer = await startApiServer(t.core, { port: 0, ...options.api });
  t.core.apiUrl = api.url;
  /** The response as text (SSE streams); `call` parses JSON. */
  const raw = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(api.url + path, {
      method,
      headers: {
        authorization: `Bearer ${api.token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    return { status: res.status, text: await res.text(), headers: res.headers };
  };
  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const { status, text, headers: h } = await raw(method, path, body, headers);
    return { status, body: text ? JSON.parse(text) : undefined, headers: h };
  };
  return {
    ...t,
    api,
    call,
    raw,
    async dispose() {
      await api.close();
      await t.dispose();
    },
  };
}
