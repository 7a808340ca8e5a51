import type { ServerInfo } from '../../../../shared/servers.js';
import { connect } from '../client.js';
import type { Command } from '../command.js';

/** `berth ls`: the servers Berth runs, one line each. */
export const lsCommand: Command = {
  name: 'ls',
  summary: 'List the servers Berth runs (status, backend, address, model)',
  usage: 'berth ls [--json]',
  options: {},
  async run(args, io, env) {
    const servers = await connect(env).request<ServerInfo[]>('GET', '/api/servers');
    if (args.values.json) {
      io.out(`${JSON.stringify(servers)}\n`);
      return 0;
    }
    if (servers.length === 0) {
      io.out('No servers. Deploy one with `berth deploy <model folder>`.\n');
      return 0;
    }
    io.out(formatServerTable(servers));
    return 0;
  },
};

/** A plain-text table of servers (id prefix, name, status, backend, URL, model). */
export function formatServerTable(servers: ServerInfo[]): string {
  const rows = [
    ['ID', 'NAME', 'STATUS', 'BACKEND', 'URL', 'MODEL'],
    ...servers.map((s) => [
      s.id.slice(0, 8),
      s.name,
      s.status + (s.restarts > 0 ? ` (${s.restarts} restarts)` : ''),
      s.server_type,
      s.openai_base_url,
      s.model_name,
    ]),
  ];
  const widths = rows[0]?.map((_, col) => Math.max(...rows.map((r) => (r[col] ?? '').length))) ?? [];
  return `${rows
    .map((r) =>
      r
        .map((cell, col) => cell.padEnd(widths[col] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')}\n`;
}
