import { type IpcMainInvokeEvent, ipcMain, type WebContents } from 'electron';
import {
  API_METHODS,
  CHAT_DELTA_CHANNEL,
  type IpcResult,
  ipcChannel,
  QUALITY_PROGRESS_CHANNEL,
} from '../../shared/ipc.js';
import { CompareRequestSchema } from '../../shared/quality.js';
import { parseOrThrow } from '../core/api/route.js';
import type { Core } from '../core/app.js';
import { toErrorShape } from '../core/errors.js';
import { type ApiHandler, createApiHandlers, IdArg } from '../core/facade.js';
import { ChatRequestSchema, streamChatCompletion } from '../core/playground/chat.js';
import { prepareCompare } from '../core/quality/requests.js';

/**
 * Registers one IPC handler per BerthApi method. Each checks that the sender is our own window (loaded from
 * our files) before calling the core; arguments are validated inside the core's handlers.
 */
export function registerIpc(
  core: Core,
  extra: Partial<Record<string, ApiHandler>>,
  isTrusted: (sender: WebContents) => boolean,
) {
  const chats = new Map<string, AbortController>();
  const handlers: Partial<Record<string, ApiHandler>> = { ...createApiHandlers(core), ...extra };
  // The playground's chat streams its deltas to the window that asked, tagged with the request id.
  const chat = async (sender: WebContents, id: unknown, request: unknown, requestId: unknown) => {
    const rid = parseOrThrow(IdArg, requestId, 'request_id');
    const server = core.servers.get(parseOrThrow(IdArg, id, 'id'));
    const controller = new AbortController();
    chats.set(rid, controller);
    try {
      return await streamChatCompletion(
        server,
        parseOrThrow(ChatRequestSchema, request, 'request'),
        (delta) => {
          if (!sender.isDestroyed()) sender.send(CHAT_DELTA_CHANNEL, { request_id: rid, delta });
        },
        controller.signal,
        core.backends[server.server_type]?.apiKey?.(server),
      );
    } finally {
      chats.delete(rid);
    }
  };
  handlers['servers.chatAbort'] = (requestId) => void chats.get(String(requestId))?.abort();
  // compare-quants: the same core function as POST /api/quality/compare; progress goes to the window that asked.
  const compares = new Map<string, AbortController>();
  const compare = async (sender: WebContents, request: unknown, requestId: unknown) => {
    const rid = parseOrThrow(IdArg, requestId, 'request_id');
    const run = await prepareCompare(core, parseOrThrow(CompareRequestSchema, request, 'request'));
    const controller = new AbortController();
    compares.set(rid, controller);
    try {
      return await run(controller.signal, (progress) => {
        if (!sender.isDestroyed()) sender.send(QUALITY_PROGRESS_CHANNEL, { request_id: rid, progress });
      });
    } finally {
      compares.delete(rid);
    }
  };
  handlers['quality.compareAbort'] = (requestId) => void compares.get(String(requestId))?.abort();
  for (const method of API_METHODS) {
    ipcMain.handle(
      ipcChannel(method),
      async (event: IpcMainInvokeEvent, ...args: unknown[]): Promise<IpcResult> => {
        if (!isTrusted(event.sender) || event.senderFrame?.parent) {
          return { ok: false, error: { code: 'FORBIDDEN_ORIGIN', message: 'IPC from an untrusted frame' } };
        }
        const handler =
          method === 'servers.chat'
            ? (...a: unknown[]) => chat(event.sender, a[0], a[1], a[2])
            : method === 'quality.compare'
              ? (...a: unknown[]) => compare(event.sender, a[0], a[1])
              : handlers[method];
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
