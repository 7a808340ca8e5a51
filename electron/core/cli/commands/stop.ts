import type { ServerInfo } from '../../../../shared/servers.js';
import { BerthError } from '../../errors.js';
import { connect } from '../client.js';
import type { Command } from '../command.js';

/** `berth stop <id|name>`: stops a server and its whole process tree. */
export const stopCommand: Command = {
  name: 'stop',
  summary: 'Stop a server (by id or name)',
  usage: 'berth stop <id|name> [--json]',
  options: {},
  async run(args, io, env) {
    const target = args.positionals[0];
    if (!target)
      throw new BerthError('INVALID_REQUEST', 'Which server?', `usage: ${this.usage}; see \`berth ls\``);
    const client = connect(env);
    const server = await client.request<ServerInfo>('GET', `/api/servers/${encodeURIComponent(target)}`);
    const stopped = await client.request<ServerInfo>('POST', `/api/servers/${server.id}/stop`);
    if (args.values.json) io.out(`${JSON.stringify(stopped)}\n`);
    else io.out(`${stopped.name}: ${stopped.status}\n`);
    return 0;
  },
};
