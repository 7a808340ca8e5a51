import type { LogLine, ServerInfo } from '../../../../shared/servers.js';
import { BerthError } from '../../errors.js';
import { connect } from '../client.js';
import type { Command } from '../command.js';

/** `berth logs <id|name> [-f]`: a server's recent log lines, optionally followed until Ctrl+C. */
export const logsCommand: Command = {
  name: 'logs',
  summary: "Show a server's log (the last lines; -f follows new ones)",
  usage: 'berth logs <id|name> [--tail N] [-f|--follow] [--json]',
  options: { tail: { type: 'string' }, follow: { type: 'boolean', short: 'f' } },
  async run(args, io, env) {
    const target = args.positionals[0];
    if (!target)
      throw new BerthError('INVALID_REQUEST', 'Which server?', `usage: ${this.usage}; see \`berth ls\``);
    const tail = args.values.tail === undefined ? 200 : Number(args.values.tail);
    if (!Number.isInteger(tail) || tail < 1 || tail > 5_000) {
      throw new BerthError('INVALID_REQUEST', `--tail must be 1-5000, got ${String(args.values.tail)}`);
    }
    const client = connect(env);
    const server = await client.request<ServerInfo>('GET', `/api/servers/${encodeURIComponent(target)}`);
    const print = (line: LogLine) =>
      io.out(
        args.values.json
          ? `${JSON.stringify(line)}\n`
          : `${line.stream === 'berth' ? '[berth] ' : ''}${line.line}\n`,
      );
    const path = `/api/servers/${server.id}/logs?tail=${tail}`;
    if (!args.values.follow) {
      for (const line of await client.request<LogLine[]>('GET', path)) print(line);
      return 0;
    }
    const abort = new AbortController();
    const onSigint = () => abort.abort();
    process.once('SIGINT', onSigint);
    try {
      for await (const line of client.stream(`${path}&follow=1`, abort.signal)) print(line as LogLine);
    } catch (error) {
      if (!abort.signal.aborted) throw error;
    } finally {
      process.removeListener('SIGINT', onSigint);
    }
    return 0;
  },
};
