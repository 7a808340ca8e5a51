// Berth's own start overhead: time from core.servers.start() to "running" minus the time the vLLM stand-in
// itself takes to pass the same health check (spawned directly by this script, polled every 5 ms), measured
// side by side, alternating, on the same machine. Goal: overhead <= 300 ms. Writes bench/results/servers.json.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCore } from '../electron/core/app.js';
import type { Backend } from '../electron/core/servers/backend.js';
import { nextFreePort } from '../electron/core/servers/ports.js';
import {
  preparedModel,
  standinEnv,
  withStandinKnobs,
} from '../electron/core/servers/test-support/standin.js';
import { root } from './_berth.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 10);
const DELAY_MS = '200'; // the stand-in's own start-up time before it opens its port

async function baseline(port: number): Promise<number> {
  const t0 = performance.now();
  const env = standinEnv({ BERTH_STANDIN_DELAY_MS: DELAY_MS, PYTHONUNBUFFERED: '1' });
  const args = ['-m', 'vllm.entrypoints.openai.api_server', '--model', '/models/tiny-standin'];
  args.push('--host', '127.0.0.1', '--port', String(port), '--served-model-name', 'base');
  const child = spawn('python3', args, { env, stdio: 'ignore' });
  try {
    for (;;) {
      const ok = await fetch(`http://127.0.0.1:${port}/health`)
        .then(async (r) => r.ok && (await fetch(`http://127.0.0.1:${port}/v1/models`)).ok)
        .catch(() => false);
      if (ok) return performance.now() - t0;
      await new Promise((r) => setTimeout(r, 5));
    }
  } finally {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

const home = mkdtempSync(join(tmpdir(), 'berth-bench-servers-'));
const core = await createCore({ home, mode: 'headless', env: standinEnv() });
const backend = withStandinKnobs(core.backends.vllm as Backend, { BERTH_STANDIN_DELAY_MS: DELAY_MS });
const berth: number[] = [];
const direct: number[] = [];
try {
  for (let i = 0; i < RUNS; i++) {
    direct.push(await baseline(await nextFreePort(18000, new Set())));
    const t0 = performance.now();
    const info = await core.servers.start({
      name: `bench-${i}`,
      backend,
      model: preparedModel(`bench-${i}`),
    });
    berth.push(performance.now() - t0);
    await core.servers.remove(info.id);
  }
} finally {
  await core.close();
  rmSync(home, { recursive: true, force: true });
}
const overhead = median(berth) - median(direct);
const result = {
  benchmark: 'servers: Berth start overhead over the backend’s own time to a passing health check',
  runs: RUNS,
  standin_startup_delay_ms: Number(DELAY_MS),
  baseline_direct_spawn_to_healthy_ms: { median: round(median(direct)), all: direct.map((x) => round(x)) },
  berth_start_to_running_ms: { median: round(median(berth)), all: berth.map((x) => round(x)) },
  overhead_ms: round(overhead),
  ratio: round(median(berth) / median(direct), 3),
  goal_overhead_ms: 300,
  meets_goal: overhead <= 300,
  machine: `${process.platform}-${process.arch}, node ${process.version}`,
  measured_at: new Date().toISOString(),
};
writeFileSync(join(root, 'bench', 'results', 'servers.json'), `${JSON.stringify(result, null, 2)}\n`);
process.stdout.write(
  `overhead ${result.overhead_ms} ms (Berth ${result.berth_start_to_running_ms.median} ms vs direct ${result.baseline_direct_spawn_to_healthy_ms.median} ms)\n`,
);

function round(x: number, digits = 1): number {
  return Math.round(x * 10 ** digits) / 10 ** digits;
}
