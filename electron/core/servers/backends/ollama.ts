import { accessSync, constants } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import { execa } from 'execa';
import { Ollama } from 'ollama';
import type { ServerInfo } from '../../../../shared/servers.js';
import type { Settings } from '../../../../shared/settings.js';
import type { BackendStatus } from '../../../../shared/system.js';
import { type ConvertGguf, prepareGguf } from '../../engine/prepare.js';
import { BerthError } from '../../errors.js';
import type { Backend, LaunchPlan, PreparedModel } from '../backend.js';
import { nextFreePort } from '../ports.js';
import { classifyOllamaFailure } from './ollama-failures.js';
import { importModel } from './ollama-import.js';

export interface OllamaBackendDeps {
  settings: () => Settings;
  /** Berth's environment: PATH to find `ollama`, and OLLAMA_* settings passed on to a server Berth starts. */
  env: NodeJS.ProcessEnv;
  /** The converter (`core.conversion.convert`); a .gguf model path skips it. */
  convert: ConvertGguf;
}

/** Where a model's Ollama answers, and whether Berth started that server (and may stop it). */
interface Endpoint {
  url: string;
  owned: boolean;
}

const INSTALL_HINT = 'Install Ollama (https://ollama.com/download), or set Settings > Ollama binary.';
const STARTUP_DEADLINE_MS = 60_000;

/**
 * Ollama: uses the Ollama at Settings > Ollama host when one answers, else starts `ollama serve` on its own
 * port and owns it. The GGUF goes in through Ollama's HTTP API: blob upload by sha256 digest, then create
 * with `files`, `num_ctx`, and a template or stop words where Ollama would not recognize the chat template.
 */
export function createOllamaBackend(deps: OllamaBackendDeps): Backend {
  const endpoints = new Map<string, Endpoint>();
  /** URLs of the Ollama servers this backend started: never mistaken for the user's own. */
  const ownedUrls = new Set<string>();
  const endpointOf = (server: ServerInfo) => endpoints.get(server.model_name)?.url ?? server.base_url;
  const externalAddress = (model: PreparedModel) => {
    const endpoint = endpoints.get(model.model_name);
    if (!endpoint || endpoint.owned) return undefined;
    const url = new URL(endpoint.url);
    return {
      host: url.hostname.replace(/^\[|\]$/g, ''),
      port: Number(url.port || (url.protocol === 'https:' ? 443 : 80)),
    };
  };

  return {
    type: 'ollama',
    external: externalAddress,
    defaultPort: 11434,

    async detect(signal) {
      const host = normalizeHost(deps.settings().ollama.host);
      const running = await serverVersion(host, signal);
      if (running) return { name: 'ollama', installed: true, version: running, detail: `running at ${host}` };
      const binary = findOllama(deps.settings(), deps.env);
      if (!binary)
        return { name: 'ollama', installed: false, detail: 'no ollama on PATH', install_hint: INSTALL_HINT };
      const result = await execa(binary, ['--version'], {
        reject: false,
        timeout: 15_000,
        env: { PATH: deps.env.PATH ?? '', HOME: deps.env.HOME ?? '' },
        extendEnv: false,
        ...(signal ? { cancelSignal: signal } : {}),
      });
      const version = /version is (\S+)/.exec(String(result.stdout))?.[1];
      const status: BackendStatus = version
        ? { name: 'ollama', installed: true, version, detail: `${binary} (Berth starts it when needed)` }
        : {
            name: 'ollama',
            installed: false,
            detail: `${binary} --version failed`,
            install_hint: INSTALL_HINT,
          };
      return status;
    },

    async prepare(input, ctx) {
      const prepared = await prepareGguf(input, ctx, deps.convert);
      const host = normalizeHost(deps.settings().ollama.host);
      if (!ownedUrls.has(host) && (await serverVersion(host, ctx.signal))) {
        ctx.log(`using the Ollama running at ${host}`, 'berth');
        endpoints.set(input.model_name, { url: host, owned: false });
      } else {
        if (!findOllama(deps.settings(), deps.env)) {
          throw new BerthError(
            'BACKEND_NOT_INSTALLED',
            `No Ollama answers at ${host} and none is installed`,
            INSTALL_HINT,
          );
        }
        endpoints.delete(input.model_name);
      }
      return prepared;
    },

    launch(model, target): LaunchPlan | undefined {
      if (endpoints.get(model.model_name)?.owned === false) return undefined;
      const binary = findOllama(deps.settings(), deps.env);
      if (!binary) throw new BerthError('BACKEND_NOT_INSTALLED', 'ollama is not installed', INSTALL_HINT);
      const url = `http://${target.host}:${target.port}`;
      endpoints.set(model.model_name, { url, owned: true });
      ownedUrls.add(url);
      return {
        command: binary,
        args: ['serve'],
        env: { ...ollamaEnv(deps.env), OLLAMA_HOST: `${target.host}:${target.port}` },
        startupDeadlineMs: STARTUP_DEADLINE_MS,
      };
    },

    async health(server, signal) {
      return (await serverVersion(endpointOf(server), signal)) !== undefined;
    },

    async afterStart(server, model, ctx) {
      ctx.stage('import', 'started');
      await importModel(new Ollama({ host: endpointOf(server) }), endpointOf(server), model, ctx);
      ctx.stage('import', 'done');
    },

    async beforeStop(server) {
      const endpoint = endpoints.get(server.model_name) ?? { url: server.base_url, owned: true };
      const client = new Ollama({ host: endpoint.url });
      await client.generate({ model: server.model_name, prompt: '', keep_alive: 0 });
      if (!endpoint.owned) return;
      const others = (await client.ps()).models.map((m) => m.name);
      if (others.length > 0) {
        throw new BerthError(
          'ALREADY_RUNNING',
          `The Ollama Berth started for ${server.model_name} also has ${others.join(', ')} loaded; stopping it unloads them`,
        );
      }
    },

    async remove(server) {
      const endpoint = endpoints.get(server.model_name) ?? { url: server.base_url, owned: true };
      if (await serverVersion(endpoint.url)) return deleteModel(endpoint.url, server.model_name);
      if (!endpoint.owned) {
        throw new BerthError(
          'SERVER_UNREACHABLE',
          `The Ollama at ${endpoint.url} does not answer`,
          'Start it, then remove again.',
        );
      }
      // Berth's own Ollama is stopped by now: run it briefly to delete the model from its store.
      await withTemporaryOllama(deps, (url) => deleteModel(url, server.model_name));
    },

    classifyFailure: (logTail) => classifyOllamaFailure(logTail),
  };
}

async function deleteModel(url: string, name: string): Promise<void> {
  try {
    await new Ollama({ host: url }).delete({ model: name });
  } catch (error) {
    if (!/not found/.test((error as Error).message)) throw error;
  }
}

/** Starts `ollama serve` on a free port for one task, then stops it. */
async function withTemporaryOllama(deps: OllamaBackendDeps, task: (url: string) => Promise<void>) {
  const binary = findOllama(deps.settings(), deps.env);
  if (!binary) throw new BerthError('BACKEND_NOT_INSTALLED', 'ollama is not installed', INSTALL_HINT);
  const port = await nextFreePort(11434, new Set());
  const url = `http://127.0.0.1:${port}`;
  const child = execa(binary, ['serve'], {
    env: {
      PATH: deps.env.PATH ?? '',
      HOME: deps.env.HOME ?? '',
      ...ollamaEnv(deps.env),
      OLLAMA_HOST: `127.0.0.1:${port}`,
    },
    extendEnv: false,
    reject: false,
    stdio: 'ignore',
  });
  try {
    const end = Date.now() + 30_000;
    while (!(await serverVersion(url))) {
      if (Date.now() > end || child.exitCode !== null) {
        throw new BerthError('SERVER_START_FAILED', `ollama serve did not start on ${url}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    await task(url);
  } finally {
    child.kill('SIGTERM');
    await child;
  }
}

/** Ollama's version when a server answers at `url`, else undefined. */
async function serverVersion(url: string, signal?: AbortSignal): Promise<string | undefined> {
  try {
    const timeout = AbortSignal.timeout(2_000);
    const res = await fetch(`${url}/api/version`, {
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
    });
    if (!res.ok) return undefined;
    return ((await res.json()) as { version?: string }).version ?? 'unknown';
  } catch {
    return undefined;
  }
}

/** Settings > Ollama binary, else `ollama` on PATH (absolute, so the child needs no PATH lookup). */
export function findOllama(settings: Settings, env: NodeJS.ProcessEnv): string | undefined {
  const configured = settings.ollama.binary;
  if (configured) return isAbsolute(configured) && executable(configured) ? configured : undefined;
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, process.platform === 'win32' ? 'ollama.exe' : 'ollama');
    if (executable(candidate)) return candidate;
  }
  return undefined;
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Ollama's own settings (OLLAMA_MODELS, OLLAMA_KEEP_ALIVE, ...) from Berth's environment, minus the host. */
function ollamaEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (key.startsWith('OLLAMA_') && key !== 'OLLAMA_HOST' && value !== undefined) out[key] = value;
  }
  return out;
}

/** `127.0.0.1:11434` or `http://host:port/` -> `http://host:port`. */
export function normalizeHost(host: string): string {
  const withScheme = /^https?:\/\//.test(host) ? host : `http://${host}`;
  return withScheme.replace(/\/+$/, '');
}
