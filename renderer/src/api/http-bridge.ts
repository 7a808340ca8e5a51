import type { BerthApi } from '../../../shared/api.js';
import type { BerthEvent } from '../../../shared/events.js';

/** An Error carrying Berth's error code and hint across the transport. */
export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

/**
 * The BerthApi over HTTP + Server-Sent Events, for the UI in a browser (headless mode). Events are read with
 * fetch rather than EventSource so the bearer token travels in a header, never in a URL.
 */
export function createHttpBridge(baseUrl: string, token: string): BerthApi {
  async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(baseUrl + path, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    const json = text ? JSON.parse(text) : undefined;
    if (!res.ok) {
      const e = json?.error ?? {};
      throw new ApiError(e.code ?? 'INTERNAL', e.message ?? `HTTP ${res.status}`, e.hint);
    }
    return json as T;
  }
  const enc = encodeURIComponent;

  return {
    app: { info: () => call('GET', '/api/app') },
    settings: {
      get: () => call('GET', '/api/settings'),
      update: (patch) => call('PATCH', '/api/settings', patch),
    },
    jobs: {
      register: (path) => call('POST', '/api/training/jobs', { path }),
      list: () => call('GET', '/api/training/jobs'),
      get: (id) => call('GET', `/api/training/jobs/${enc(id)}`),
      remove: (id) => call('DELETE', `/api/training/jobs/${enc(id)}`),
      browse: (path) => call('GET', `/api/fs/browse${path ? `?path=${enc(path)}` : ''}`),
      pickFolder: async () => undefined,
    },
    system: {
      get: (options) => call('GET', `/api/system${options?.refresh ? '?refresh=1' : ''}`),
    },
    deployments: {
      start: (request) => call('POST', '/api/training/deploy?wait=false', request),
      wait: (id) => call('GET', `/api/deployments/${enc(id)}/result`),
      cancel: (id) => call('DELETE', `/api/deployments/${enc(id)}`),
    },
    servers: {
      list: () => call('GET', '/api/servers'),
      stop: (id) => call('POST', `/api/servers/${enc(id)}/stop`),
      restart: (id) => call('POST', `/api/servers/${enc(id)}/restart`),
      remove: (id) => call('DELETE', `/api/servers/${enc(id)}`),
      logs: (id, tail) => call('GET', `/api/servers/${enc(id)}/logs${tail ? `?tail=${tail}` : ''}`),
    },
    onEvent(listener) {
      return followEvents(baseUrl, token, listener);
    },
  };
}

/** Follows /api/events, reconnecting with back-off; returns the unsubscribe function. */
function followEvents(baseUrl: string, token: string, listener: (event: BerthEvent) => void): () => void {
  let stopped = false;
  let controller: AbortController | undefined;
  let delay = 500;
  const run = async () => {
    while (!stopped) {
      controller = new AbortController();
      try {
        const res = await fetch(`${baseUrl}/api/events`, {
          headers: { authorization: `Bearer ${token}` },
          signal: controller.signal,
        });
        if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
        delay = 500;
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let end = buffer.indexOf('\n\n');
          while (end >= 0) {
            const data = buffer
              .slice(0, end)
              .split('\n')
              .filter((l) => l.startsWith('data: '))
              .map((l) => l.slice(6))
              .join('\n');
            buffer = buffer.slice(end + 2);
            if (data) listener(JSON.parse(data) as BerthEvent);
            end = buffer.indexOf('\n\n');
          }
        }
      } catch {
        // connection lost or aborted; retry below unless stopped
      }
      if (stopped) return;
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 10_000);
    }
  };
  void run();
  return () => {
    stopped = true;
    controller?.abort();
  };
}
