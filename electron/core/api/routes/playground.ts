import type { Core } from '../../app.js';
import { BerthError } from '../../errors.js';
import { ChatRequestSchema, streamChatCompletion } from '../../playground/chat.js';
import type { RouteTable } from '../route.js';
import { openSse } from '../sse.js';

/**
 * POST /api/servers/:id/chat: the playground's chat, relayed through Berth so the window reaches any server
 * over the same origin (and over an SSH tunnel to `berth serve`). Answers an OpenAI-style SSE stream.
 */
export function registerPlaygroundRoutes(table: RouteTable, core: Core): void {
  table.add(
    {
      method: 'POST',
      path: '/api/servers/:id/chat',
      summary: 'Chat with a running server (streamed as OpenAI-style SSE chunks, then a usage chunk)',
      body: ChatRequestSchema,
    },
    async ({ params, body, request, reply }) => {
      const server = core.servers.get(params.id!);
      if (server.status !== 'running') {
        throw new BerthError(
          'SERVER_NOT_RUNNING',
          `${server.name} is ${server.status}`,
          'Start it on the Servers page first.',
        );
      }
      const controller = new AbortController();
      const stream = openSse(request, reply);
      stream.onClose(() => controller.abort());
      try {
        const result = await streamChatCompletion(
          server,
          body,
          (delta) => stream.send({ choices: [{ index: 0, delta: { content: delta } }] }),
          controller.signal,
          core.backends[server.server_type]?.apiKey?.(server),
        );
        stream.send({ choices: [], usage: { completion_tokens: result.completion_tokens }, berth: result });
      } catch (error) {
        const e =
          error instanceof BerthError ? error.toJSON() : { code: 'SERVER_ERROR', message: String(error) };
        stream.send({ error: e });
      } finally {
        stream.close();
      }
    },
  );
}
