import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseNvidiaComputeApps, parseNvidiaSmiXml } from '../hardware/nvidia.js';
import { makeTestCore } from '../test-support/core.js';
import type { Backend } from './backend.js';
import { gpuMemoryByServer } from './gpu-usage.js';
import {
  preparedModel,
  standinEnv,
  survivors,
  waitFor,
  withStandinKnobs,
  workerPids,
} from './test-support/standin.js';

const MIB = 1024 * 1024;
const fixtures = join(import.meta.dirname, '..', 'hardware', '__fixtures__');

/** The "load :: query-compute-apps" section of a captured nvidia-smi session. */
function capturedComputeApps(file: string): string {
  const lines = readFileSync(join(fixtures, file), 'utf8').split('\n');
  const start = lines.findIndex((l) => l.startsWith('# load :: query-compute-apps'));
  const body: string[] = [];
  for (const line of lines.slice(start + 3)) {
    if (line.startsWith('####')) break;
    body.push(line);
  }
  return body.join('\n');
}

describe('GPU memory per server from captured process lists (process trees faked)', () => {
  it('RTX 4080 SUPER under load: a server is charged for its children (Ollama runners), not for others', () => {
    const apps = parseNvidiaComputeApps(
      capturedComputeApps('linux-x86_64__nvidia-geforce-rtx-4080-super__595.71.05.txt'),
    ).items;
    expect(apps.map((a) => a.pid)).toEqual([2165, 5022, 5021]);
    const tree: Record<number, number[]> = { 5000: [5021, 5022], 2165: [], 7777: [7778] };
    const usage = gpuMemoryByServer(
      [
        { id: 'ollama', pid: 5000 },
        { id: 'desktop', pid: 2165 },
        { id: 'cpu-only', pid: 7777 },
        { id: 'not-started', pid: undefined },
      ],
      apps,
      (pid) => tree[pid] ?? [],
    );
    expect(usage.get('ollama')).toBe((503 + 360) * MIB);
    expect(usage.get('desktop')).toBe(25 * MIB);
    expect(usage.get('cpu-only')).toBe(0);
    expect(usage.has('not-started')).toBe(false);
  });

  it("H100 under load: vLLM's engine core (a grandchild) holds the memory", () => {
    const apps = parseNvidiaComputeApps(
      capturedComputeApps('linux-x86_64__nvidia-h100-80gb-hbm3__590.48.01.txt'),
    ).items;
    const usage = gpuMemoryByServer([{ id: 'vllm', pid: 11300 }], apps, (pid) =>
      pid === 11300 ? [11320, 11345] : [],
    );
    expect(usage.get('vllm')).toBe(15690 * MIB);
  });

  it("Tesla T4 (nvidia-smi -q -x): the display server is nobody's", () => {
    const gpu = parseNvidiaSmiXml(readFileSync(join(fixtures, 'tesla-t4.xml'), 'utf8')).items[0]!;
    const usage = gpuMemoryByServer([{ id: 'engine', pid: 5700 }], gpu.processes ?? [], (pid) =>
      pid === 5700 ? [5762] : [],
    );
    expect(usage.get('engine')).toBe(1005 * MIB);
  });
});

describe('GPU memory on a running server (real process tree)', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
  });

  it('charges the vLLM stand-in for its EngineCore worker and announces the change', async () => {
    const t = await makeTestCore({ env: standinEnv() });
    cleanups.push(t.dispose);
    const events: Array<number | undefined> = [];
    t.core.bus.subscribe((e) => {
      if (e.type === 'server.status') events.push(e.server.gpu_memory_bytes);
    });
    const backend = withStandinKnobs(t.core.backends.vllm as Backend, {
      BERTH_STANDIN_DELAY_MS: '50',
      BERTH_STANDIN_GRANDCHILD: 'child',
    });
    const info = await t.core.servers.start({ name: 'gpu', backend, model: preparedModel('gpu') });
    const logs = () => t.core.servers.logs(info.id).map((l) => l.line);
    await waitFor(() => workerPids(logs()).length > 0, 5_000, 'the worker');
    const worker = workerPids(logs())[0]!;
    t.core.servers.applyGpuProcesses([
      { pid: worker, used_bytes: 7 * 1024 * MIB },
      { pid: process.pid, used_bytes: 3 * 1024 * MIB }, // a process outside the server's tree
    ]);
    expect(t.core.servers.get('gpu').gpu_memory_bytes).toBe(7 * 1024 * MIB);
    expect(events.at(-1)).toBe(7 * 1024 * MIB);
    const count = events.length;
    t.core.servers.applyGpuProcesses([{ pid: worker, used_bytes: 7 * 1024 * MIB + 1000 }]);
    expect(events.length).toBe(count); // under 1 MiB: not announced
    await t.core.servers.stop('gpu');
    expect(survivors(new Set([info.pid!, worker]))).toEqual([]);
  });
});
