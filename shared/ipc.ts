/**
 * The IPC contract between the preload and the main process: one channel per BerthApi method, named after it.
 * Only the typed wrappers in electron/preload and electron/main touch these strings.
 */
export const API_METHODS = [
  'app.info',
  'settings.get',
  'settings.update',
  'settings.pending',
  'settings.applyPending',
  'settings.discardPending',
  'settings.token',
  'settings.regenerateToken',
  'conversions.env',
  'conversions.setup',
  'conversions.cache',
  'conversions.removeCached',
  'jobs.register',
  'jobs.list',
  'jobs.get',
  'jobs.remove',
  'jobs.browse',
  'jobs.pickFolder',
  'system.get',
  'system.recommend',
  'deployments.start',
  'deployments.wait',
  'deployments.cancel',
  'deployments.skipQuality',
  'servers.list',
  'servers.stop',
  'servers.restart',
  'servers.remove',
  'servers.logs',
  'servers.chat',
  'servers.chatAbort',
  'quality.compare',
  'quality.compareAbort',
  'quality.reports',
] as const;
export type ApiMethod = (typeof API_METHODS)[number];

export const ipcChannel = (method: ApiMethod) => `berth:${method}`;
export const EVENT_CHANNEL = 'berth:event';
/** Text deltas of a playground chat: `{ request_id, delta }`. */
export const CHAT_DELTA_CHANNEL = 'berth:chat-delta';
/** Progress of a compare-quants run: `{ request_id, progress }`. */
export const QUALITY_PROGRESS_CHANNEL = 'berth:quality-progress';

/** What every IPC handler returns: errors travel as values because Electron drops custom error fields. */
export type IpcResult =
  | { ok: true; value: unknown }
  | { ok: false; error: { code: string; message: string; hint?: string } };
