import type { AbortSignalLike, BerthApi, ChatRequest, ChatResult } from '../../../shared/api.js';
import type { ConversionCacheEntry } from '../../../shared/conversion.js';
import type { BerthEvent } from '../../../shared/events.js';
import type { CompareResult, QualityJobProgress, QualityReport } from '../../../shared/quality.js';
import { ChatMeter, splitSse } from '../../../shared/sse.js';

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
export function createHttpBridge(
  baseUrl: string,
  initialToken: string,
  onToken?: (token: string) => void,
): BerthApi {
  let token = initialToken;
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
      pending: () => call('GET', '/api/settings/pending'),
      applyPending: (key) => call('POST', '/api/settings/pending/apply', { key }),
      discardPending: async (key) => void (await call('POST', '/api/settings/pending/discard', { key })),
      token: async () => token,
      async regenerateToken() {
        const next = await call<{ token: string }>('POST', '/api/token/regenerate');
        token = next.token;
        onToken?.(token);
        return token;
      },
    },
    conversions: {
      env: () => call('GET', '/api/conversions/env'),
      setup: async () => void (await call('POST', '/api/conversions/env/setup')),
      cache: async () =>
        (await call<{ entries: ConversionCacheEntry[] }>('GET', '/api/conversions/cache')).entries,
      removeCached: async (id) => void (await call('DELETE', `/api/conversions/cache/${enc(id)}`)),
    },
    jobs: {
      register: (path) => call('POST', '/api/training/jobs', { path }),
      list: () => call('GET', '/api/training/jobs'),
      get: (id) => call('GET', `/api/training/jobs/${enc(id)}`),
      remove: (id) => call('DELETE', `/api/training/jobs/${enc(id)}`),
      browse: (path) => call('GET', `/api/fs/browse${path ? `?path=${enc(path)}` : ''}`),
      pickFolder: async () => undefined,
      pathForDrop: () => undefined,
    },
    system: {
      get: (options) => call('GET', `/api/system${options?.refresh ? '?refresh=1' : ''}`),
      recommend: (request) => call('POST', '/api/recommend', request),
    },
    deployments: {
      start: (request) => call('POST', '/api/training/deploy?wait=false', request),
      wait: (id) => call('GET', `/api/deployments/${enc(id)}/result`),
      cancel: (id) => call('DELETE', `/api/deployments/${enc(id)}`),
      skipQuality: (id) => call('DELETE', `/api/deployments/${enc(id)}/quality`),
    },
    servers: {
      list: () => call('GET', '/api/servers'),
      stop: (id) => call('POST', `/api/servers/${enc(id)}/stop`),
      restart: (id) => call('POST', `/api/servers/${enc(id)}/restart`),
      remove: (id) => call('DELETE', `/api/servers/${enc(id)}`),
      logs: (id, tail) => call('GET', `/api/servers/${enc(id)}/logs${tail ? `?tail=${tail}` : ''}`),
      chat: (id, request, onDelta, signal) =>
        streamChat(`${baseUrl}/api/servers/${enc(id)}/chat`, token, request, onDelta, signal),
    },
    quality: {
      async compare(request, onProgress, signal) {
        // closing the stream (abort) cancels the run on the server
        const res = await fetch(`${baseUrl}/api/quality/compare`, {
          method: 'POST',
          ...(signal ? { signal: signal as AbortSignal } : {}),
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify(request),
        });
        if (!res.ok || !res.body) {
          const e = ((await res.json().catch(() => undefined)) as { error?: ErrorLike } | undefined)?.error;
          throw new ApiError(e?.code ?? 'INTERNAL', e?.message ?? `HTTP ${res.status}`, e?.hint);
        }
        for await (const data of sseMessages(res.body)) {
          const m = JSON.parse(data) as Record<string, unknown>;
          if ('rows' in m) return m as unknown as CompareResult;
          if ('phase' in m) onProgress?.(m as unknown as QualityJobProgress);
          else if ('code' in m) {
            const e = m as unknown as ErrorLike;
            throw new ApiError(e.code ?? 'INTERNAL', e.message ?? 'compare-quants failed', e.hint);
          }
        }
        throw new ApiError('INTERNAL', 'compare-quants ended without a result');
      },
      reports: async (modelPath) =>
        (await call<{ reports: QualityReport[] }>('GET', `/api/quality/reports?model_path=${enc(modelPath)}`))
          .reports,
    },
    onEvent(listener) {
      return followEvents(baseUrl, () => token, listener);
    },
  };
}

type ErrorLike = { code?: string; message?: string; hint?: string };

/** Posts a chat turn through Berth's proxy and reads the OpenAI-style SSE stream it relays. */
async function streamChat(
  url: string,
  token: string,
  request: ChatRequest,
  onDelta: (text: string) => void,
  signal?: AbortSignalLike,
): Promise<ChatResult> {
  const started = performance.now();
  const res = await fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(request),
    ...(signal ? { signal: signal as AbortSignal } : {}),
  });
  if (!res.ok || !res.body) {
    const json = (await res.json().catch(() => undefined)) as
      | { error?: { code?: string; message?: string; hint?: string } }
      | undefined;
    throw new ApiError(
      json?.error?.code ?? 'INTERNAL',
      json?.error?.message ?? `HTTP ${res.status}`,
      json?.error?.hint,
    );
  }
  return readChatStream(res.body, started, onDelta);
}

/** The data payload of each Server-Sent-Events message in a response body, as it arrives. */
export async function* sseMessages(body: ReadableStream<Uint8Array<ArrayBuffer>>): AsyncGenerator<string> {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    const { messages, rest } = splitSse(buffer + value);
    buffer = rest;
    yield* messages;
  }
}

/** Reads an OpenAI chat-completions SSE stream: text deltas, then usage; measures first token and speed. */
export async function readChatStream(
  body: ReadableStream<Uint8Array<ArrayBuffer>>,
  started: number,
  onDelta: (text: string) => void,
): Promise<ChatResult> {
  const meter = new ChatMeter(started);
  for await (const message of sseMessages(body)) {
    const data = message.trim();
    if (data === '[DONE]') continue;
    const chunk = JSON.parse(data);
    if (chunk.error) {
      throw new ApiError(
        chunk.error.code ?? 'INTERNAL',
        chunk.error.message ?? 'Server error',
        chunk.error.hint,
      );
    }
    const delta = meter.add(chunk, performance.now());
    if (delta) onDelta(delta);
  }
  return meter.result(performance.now());
}

/** Follows /api/events, reconnecting with back-off; returns the unsubscribe function. */
function followEvents(
  baseUrl: string,
  token: () => string,
  listener: (event: BerthEvent) => void,
): () => void {
  let stopped = false;
  let controller: AbortController | undefined;
  let delay = 500;
  const run = async () => {
    while (!stopped) {
      controller = new AbortController();
      try {
        const res = await fetch(`${baseUrl}/api/events`, {
          headers: { authorization: `Bearer ${token()}` },
          signal: controller.signal,
        });
        if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
        delay = 500;
        for await (const data of sseMessages(res.body)) listener(JSON.parse(data) as BerthEvent);
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
