import { z } from 'zod';
import { LogLineSchema, ServerInfoSchema } from '../../../../shared/servers.js';
import type { Core } from '../../app.js';
import type { RouteTable } from '../route.js';
import { openSse } from '../sse.js';

const LogsQuerySchema = z.object({
  tail: z.coerce.number().int().min(1).max(5_000).optional(),
  /** `1`: keep the response open as Server-Sent Events, one log line per event, after the tail. */
  follow: z.enum(['0', '1', 'true', 'false']).optional(),
});

/** The servers Berth runs: list, inspect, stop, restart, remove, and their logs (tail or followed). */
export function registerServerRoutes(table: RouteTable, core: Core): void {
  table.add(
    {
      method: 'GET',
      path: '/api/servers',
      summary: 'Every server Berth runs or ran',
      response: z.array(ServerInfoSchema),
    },
    () => core.servers.list(),
  );
  table.add(
    {
      method: 'GET',
      path: '/api/servers/:id',
      summary: 'One server, by id or name',
      response: ServerInfoSchema,
    },
    ({ params }) => core.servers.get(params.id as string),
  );
  table.add(
    {
      method: 'POST',
      path: '/api/servers/:id/stop',
      summary: 'Stop a server (SIGTERM, a grace period, then SIGKILL of its whole process tree)',
      response: ServerInfoSchema,
    },
    ({ params }) => core.servers.stop(params.id as string),
  );
  table.add(
    {
      method: 'POST',
      path: '/api/servers/:id/restart',
      summary: 'Restart a server; resolves once it is running again',
      response: ServerInfoSchema,
    },
    ({ params }) => core.servers.restart(params.id as string),
  );
  table.add(
    {
      method: 'DELETE',
      path: '/api/servers/:id',
      summary: 'Stop a server and forget it (Ollama: deletes the model)',
      response: z.object({ success: z.literal(true) }),
    },
    async ({ params }) => {
      await core.servers.remove(params.id as string);
      return { success: true as const };
    },
  );
  table.add(
    {
      method: 'GET',
      path: '/api/servers/:id/logs',
      summary:
        'The last log lines (tail, default all kept); follow=1 streams new lines as Server-Sent Events',
      query: LogsQuerySchema,
      response: z.array(LogLineSchema),
    },
    ({ params, query, request, reply }) => {
      const id = params.id as string;
      const lines = core.servers.logs(id, query.tail);
      if (query.follow !== '1' && query.follow !== 'true') return lines;
      const stream = openSse(request, reply);
      for (const line of lines) stream.send(line);
      stream.onClose(core.servers.follow(id, (line) => stream.send(line)));
    },
  );
}
