import type { ServerType } from '../../../shared/deploy.js';
import { BerthError } from '../errors.js';
import type { Backend, PreparedModel } from './backend.js';
import type { ManagedServer } from './managed-server.js';
import { commandLine, isAlive } from './process-tree.js';
import type { ServerRecord } from './state.js';

/** Names of servers by what reconciliation did with them. */
export interface ReconcileReport {
  /** Alive, ours, and healthy: supervised again. */
  adopted: string[];
  /** Alive and ours but not answering as ready: reported (stop ends them). */
  leftovers: string[];
  /** Recorded as live but gone: marked stopped. */
  stopped: string[];
}

interface ReconcileDeps {
  backends: Partial<Record<ServerType, Backend>>;
  create(record: ServerRecord, backend: Backend): ManagedServer;
}

const HEALTH_TIMEOUT_MS = 3_000;

/**
 * Brings saved servers back after Berth starts: a recorded process that is still alive, still runs the command
 * Berth started (not a reused pid), and passes the backend's health check is re-adopted; one alive but unhealthy
 * is reported as a leftover; recorded-live servers whose process is gone are marked stopped.
 */
export async function reconcileServers(
  records: ServerRecord[],
  deps: ReconcileDeps,
): Promise<ReconcileReport> {
  const report: ReconcileReport = { adopted: [], leftovers: [], stopped: [] };
  await Promise.all(
    records.map(async (record) => {
      const { info } = record;
      const backend = deps.backends[info.server_type];
      const wasLive = ['starting', 'running', 'stopping'].includes(info.status);
      const alive = info.pid !== undefined && isAlive(info.pid) && sameCommand(info.pid, info.command);
      if (!backend) {
        if (alive) report.leftovers.push(info.name);
        process.emitWarning(
          `Berth: no ${info.server_type} backend registered; forgetting server ${info.name}`,
        );
        return;
      }
      const server = deps.create(record, backend);
      const owner = record.owner_pid ? `Berth pid ${record.owner_pid}` : 'an earlier Berth';
      if (!alive || info.pid === undefined) {
        if (wasLive) {
          report.stopped.push(info.name);
          server.sink.write('berth', `was ${info.status} under ${owner}, but its process is gone`);
          server.update({
            status: 'stopped',
            pid: undefined,
            stopped_at: info.stopped_at ?? new Date().toISOString(),
          });
        }
        return;
      }
      // Rebuilding the plan lets the backend re-learn per-server settings (e.g. vLLM's API key) for its checks.
      backend.launch(record.model as unknown as PreparedModel, {
        host: info.host,
        port: info.port,
        ...(record.gpus ? { gpus: record.gpus } : {}),
      });
      const healthy = await backend.health(info, AbortSignal.timeout(HEALTH_TIMEOUT_MS)).catch(() => false);
      server.adopt(info.pid);
      if (healthy) {
        report.adopted.push(info.name);
        server.sink.write('berth', `re-adopted pid ${info.pid}, left running by ${owner}`);
        server.update({ status: 'running', error: undefined });
        return;
      }
      report.leftovers.push(info.name);
      const error = new BerthError(
        'LEFTOVER_PROCESS',
        `${info.name} (pid ${info.pid}) is still running from ${owner} but does not answer its health check`,
        `Stop it with \`berth stop ${info.name}\` (ends its whole process tree), then deploy again.`,
        { pid: info.pid },
      );
      server.sink.write('berth', error.message);
      server.update({ status: 'failed', error: error.toJSON() });
    }),
  );
  return report;
}

/** Whether the live pid still runs what Berth started (argv[0] may differ: shims re-exec the interpreter). */
function sameCommand(pid: number, command: string[] | undefined): boolean {
  const actual = commandLine(pid);
  if (!actual || !command) return true;
  return JSON.stringify(actual.slice(1)) === JSON.stringify(command.slice(1));
}
