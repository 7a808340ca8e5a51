import { readFileSync } from 'node:fs';
import { BerthError } from '../errors.js';
import { berthPaths, resolveHome } from '../paths.js';
import { readSse } from '../sse-read.js';

/** How the CLI reaches the running Berth (window or `berth serve`): its api.json and token file. */
export interface ApiClient {
  url: string;
  request<T>(method: string, path: string, body?: unknown): Promise<T>;
  /** Opens an SSE stream and yields each parsed event until it ends or `signal` aborts. */
  stream(path: string, signal?: AbortSignal): AsyncGenerator<unknown>;
}

/** Connects to the running Berth, or throws BERTH_NOT_RUNNING with how to start one. */
export function connect(env: NodeJS.ProcessEnv = process.env): ApiClient {
  const paths = berthPaths(resolveHome(env));
  let info: { url: string; pid: number };
  let token: string;
  try {
    info = JSON.parse(readFileSync(paths.apiInfoFile, 'utf8'));
    token = readFileSync(paths.tokenFile, 'utf8').trim();
  } catch {
    throw notRunning(paths.home);
  }
  if (!isAlive(info.pid)) throw notRunning(paths.home);
  const headers = { authorization: `Bearer ${token}` };

  return {
    url: info.url,
    async request<T>(method: string, path: string, body?: unknown): Promise<T> {
      let res: Response;
      try {
        res = await fetch(info.url + path, {
          method,
          headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
      } catch {
        throw notRunning(paths.home);
      }
      const text = await res.text();
      const json = text ? JSON.parse(text) : undefined;
      if (!res.ok) {
        const e = json?.error ?? { code: 'INTERNAL', message: `HTTP ${res.status}` };
        throw new BerthError(e.code, e.message, e.hint, e.details);
      }
      return json as T;
    },
    async *stream(path: string, signal?: AbortSignal) {
      const res = await fetch(info.url + path, { headers, ...(signal ? { signal } : {}) });
      if (!res.ok || !res.body) {
        const json = (await res.json().catch(() => undefined)) as
          | { error?: { code: string; message: string; hint?: string } }
          | undefined;
        const e = json?.error ?? { code: 'INTERNAL', message: `HTTP ${res.status}` };
        throw new BerthError(e.code, e.message, e.hint);
      }
      for await (const data of readSse(res.body as AsyncIterable<Uint8Array>)) yield JSON.parse(data);
    },
  };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function notRunning(home: string): BerthError {
  return new BerthError(
    'BERTH_NOT_RUNNING',
    `Berth is not running (no live API found in ${home})`,
    'Start it with `berth serve` (or open the Berth window), then try again.',
  );
}
