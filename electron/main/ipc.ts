import { type IpcMainInvokeEvent, ipcMain, type WebContents } from 'electron';
import { API_METHODS, type IpcResult, ipcChannel } from '../../shared/ipc.js';
import type { Core } from '../core/app.js';
import { toErrorShape } from '../core/errors.js';
import { type ApiHandler, createApiHandlers } from '../core/facade.js';

/**
 * Registers one IPC handler per BerthApi method. Each checks that the sender is our own window (loaded from
 * our files) before calling the core; arguments are validated inside the core's handlers.
 */
export function registerIpc(
  core: Core,
  extra: Partial<Record<string, ApiHandler>>,
  isTrusted: (sender: WebContents) => boolean,
) {
  const handlers = { ...createApiHandlers(core), ...extra };
  for (const method of API_METHODS) {
    ipcMain.handle(
      ipcChannel(method),
      async (event: IpcMainInvokeEvent, ...args: unknown[]): Promise<IpcResult> => {
        if (!isTrusted(event.sender) || event.senderFrame?.parent) {
          return { ok: false, error: { code: 'FORBIDDEN_ORIGIN', message: 'IPC from an untrusted frame' } };
        }
        const handler = handlers[method];
        if (!handler) {
          return {
            ok: false,
            error: { code: 'NOT_FOUND', message: `${method} is not available in this version of Berth` },
          };
        }
        try {
          return { ok: true, value: await handler(...args) };
        } catch (error) {
          return { ok: false, error: toErrorShape(error) };
        }
      },
    );
  }
  return () => {
    for (const method of API_METHODS) ipcMain.removeHandler(ipcChannel(method));
  };
}
