import { contextBridge, type IpcRendererEvent, ipcRenderer, webUtils } from 'electron';
import type { BerthApi } from '../../shared/api.js';
import type { BerthEvent } from '../../shared/events.js';
import {
  type ApiMethod,
  CHAT_DELTA_CHANNEL,
  EVENT_CHANNEL,
  type IpcResult,
  ipcChannel,
  QUALITY_PROGRESS_CHANNEL,
} from '../../shared/ipc.js';
import type { QualityJobProgress } from '../../shared/quality.js';

/** Calls one core method over IPC and rethrows its error value as an Error with code and hint. */
async function call<T>(method: ApiMethod, ...args: unknown[]): Promise<T> {
  const result = (await ipcRenderer.invoke(ipcChannel(method), ...args)) as IpcResult;
  if (result.ok) return result.value as T;
  const error = new Error(result.error.message) as Error & { code: string; hint?: string };
  error.code = result.error.code;
  if (result.error.hint) error.hint = result.error.hint;
  throw error;
}

// The window gets verbs, never ipcRenderer or channel names.
const api: BerthApi = {
  app: { info: () => call('app.info') },
  settings: {
    get: () => call('settings.get'),
    update: (patch) => call('settings.update', patch),
    pending: () => call('settings.pending'),
    applyPending: (key) => call('settings.applyPending', key),
    discardPending: (key) => call('settings.discardPending', key),
    token: () => call('settings.token'),
    regenerateToken: () => call('settings.regenerateToken'),
  },
  conversions: {
    env: () => call('conversions.env'),
    setup: () => call('conversions.setup'),
    cache: () => call('conversions.cache'),
    removeCached: (id) => call('conversions.removeCached', id),
  },
  jobs: {
    register: (path) => call('jobs.register', path),
    list: () => call('jobs.list'),
    get: (id) => call('jobs.get', id),
    remove: (id) => call('jobs.remove', id),
    browse: (path) => call('jobs.browse', path),
    pickFolder: () => call('jobs.pickFolder'),
    pathForDrop: (file) => {
      try {
        return webUtils.getPathForFile(file as File) || undefined;
      } catch {
        return undefined;
      }
    },
  },
  system: {
    get: (options) => call('system.get', options),
    recommend: (request) => call('system.recommend', request),
  },
  deployments: {
    start: (request) => call('deployments.start', request),
    wait: (id) => call('deployments.wait', id),
    cancel: (id) => call('deployments.cancel', id),
    skipQuality: (id) => call('deployments.skipQuality', id),
  },
  servers: {
    list: () => call('servers.list'),
    stop: (id) => call('servers.stop', id),
    restart: (id) => call('servers.restart', id),
    remove: (id) => call('servers.remove', id),
    logs: (id, tail) => call('servers.logs', id, tail),
    async chat(id, request, onDelta, signal) {
      const requestId = crypto.randomUUID();
      const handler = (_event: IpcRendererEvent, payload: { request_id: string; delta: string }) => {
        if (payload.request_id === requestId) onDelta(payload.delta);
      };
      const abort = () => void call('servers.chatAbort', requestId);
      ipcRenderer.on(CHAT_DELTA_CHANNEL, handler);
      signal?.addEventListener('abort', abort);
      try {
        return await call('servers.chat', id, request, requestId);
      } finally {
        ipcRenderer.removeListener(CHAT_DELTA_CHANNEL, handler);
        signal?.removeEventListener('abort', abort);
      }
    },
  },
  quality: {
    async compare(request, onProgress, signal) {
      const requestId = crypto.randomUUID();
      const handler = (
        _event: IpcRendererEvent,
        payload: { request_id: string; progress: QualityJobProgress },
      ) => {
        if (payload.request_id === requestId) onProgress?.(payload.progress);
      };
      const abort = () => void call('quality.compareAbort', requestId);
      ipcRenderer.on(QUALITY_PROGRESS_CHANNEL, handler);
      signal?.addEventListener('abort', abort);
      try {
        return await call('quality.compare', request, requestId);
      } finally {
        ipcRenderer.removeListener(QUALITY_PROGRESS_CHANNEL, handler);
        signal?.removeEventListener('abort', abort);
      }
    },
    reports: (modelPath) => call('quality.reports', modelPath),
  },
  onEvent(listener) {
    const handler = (_event: IpcRendererEvent, payload: BerthEvent) => listener(payload);
    ipcRenderer.on(EVENT_CHANNEL, handler);
    return () => ipcRenderer.removeListener(EVENT_CHANNEL, handler);
  },
};

contextBridge.exposeInMainWorld('berth', api);
