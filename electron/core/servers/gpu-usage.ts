import type { GpuProcess } from '../../../shared/system.js';

/**
 * GPU memory per server: the sum over every GPU process that is the server's own process or one of its
 * descendants. vLLM's engine core and Ollama's runner are children of the process Berth started, and hold
 * the memory themselves; a process on two GPUs is listed once per GPU and counted for each.
 */
export function gpuMemoryByServer(
  servers: ReadonlyArray<{ id: string; pid: number | undefined }>,
  processes: readonly GpuProcess[],
  treeOf: (pid: number) => number[],
): Map<string, number> {
  const byServer = new Map<string, number>();
  for (const server of servers) {
    if (server.pid === undefined) continue;
    const tree = new Set([server.pid, ...treeOf(server.pid)]);
    let bytes = 0;
    for (const p of processes) if (tree.has(p.pid)) bytes += p.used_bytes;
    byServer.set(server.id, bytes);
  }
  return byServer;
}
