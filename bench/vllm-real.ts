// Berth's start-up overhead on the REAL vLLM (the CPU build `npm run setup:vllm` installs where there is no GPU):
// the time from core.servers.start() to "running" minus the time the same vLLM command line, spawned directly
// by this script with the same environment, takes to pass the same health check (/health 200 and /v1/models,
// polled every 5 ms). One discarded warm-up start first (it fills vLLM's torch.compile cache), then the two
// alternate, BENCH_RUNS (default 3) each. Not part of `npm run bench` (minutes per start):
//   npx tsx bench/vllm-real.ts      -> bench/results/vllm-real.json
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCore } from '../electron/core/app.js';
import type { Backend, PreparedModel } from '../electron/core/servers/backend.js';
import { vllmLaunchPlan } from '../electron/core/servers/backends/vllm.js';
import { childEnv } from '../electron/core/servers/child-env.js';
import { nextFreePort } from '../electron/core/servers/ports.js';
import {
  findRealVllm,
  type RealVllm,
  realVllmFixture,
} from '../electron/core/servers/test-support/real-vllm.js';
import { root } from './_berth.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const FRACTION = Number(process.env.BERTH_VLLM_MEMORY_FRACTION ?? 0.1);
const probe = findRealVllm();
if ('skip' in probe) {
  process.stderr.write(`bench vllm-real: ${probe.skip}\n`);
  process.exit(1);
}
const found: RealVllm = probe;
const fixture = realVllmFixture();
const env = { ...process.env };
delete env.PYTHONPATH;
const model = (name: string): PreparedModel => ({
  model_path: join(fixture.run, 'checkpoint-4'),
  tokenizer_path: fixture.run,
  model_name: name,
  config: { gpu_memory_utilization: FRACTION, max_model_len: 128, dtype: 'float32' },
});

/** The same argv and environment Berth would use, spawned here in its own process group and polled. */
async function direct(port: number): Promise<number> {
  const plan = vllmLaunchPlan(model('base'), { host: '127.0.0.1', port }, found.python, env);
  const t0 = performance.now();
  const child = spawn(plan.command, plan.args, {
    env: childEnv(env, plan.env),
    stdio: 'ignore',
    detached: true,
  });
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`vLLM exited (${child.exitCode}) before it was healthy`);
      const ok = await fetch(`http://127.0.0.1:${port}/health`)
        .then(async (r) => r.ok && (await fetch(`http://127.0.0.1:${port}/v1/models`)).ok)
        .catch(() => false);
      if (ok) return performance.now() - t0;
      await new Promise((r) => setTimeout(r, 5));
    }
  } finally {
    const group = -(child.pid as number);
    const exited = new Promise((r) => child.once('exit', r));
    process.kill(group, 'SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
    try {
      process.kill(group, 'SIGKILL');
    } catch {}
    // until the whole group (API server, engine core, worker) is gone: kill(-pgid, 0) fails with ESRCH then
    for (;;) {
      try {
        process.kill(group, 0);
      } catch {
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const summary = (xs: number[]) => ({
  median: round(median(xs)),
  min: round(Math.min(...xs)),
  max: round(Math.max(...xs)),
  all: xs.map((x) => round(x)),
});

const home = mkdtempSync(join(tmpdir(), 'berth-bench-vllm-'));
const core = await createCore({ home, mode: 'headless', env });
core.settings.update({ python: { vllm: found.python } });
const backend = core.backends.vllm as Backend;
const berth: number[] = [];
const baseline: number[] = [];
let warmup = 0;
try {
  process.stderr.write('warm-up start (not counted)...\n');
  warmup = await direct(await nextFreePort(18000, new Set()));
  for (let i = 0; i < RUNS; i++) {
    baseline.push(await direct(await nextFreePort(18000, new Set())));
    const t0 = performance.now();
    const info = await core.servers.start({ name: `bench-${i}`, backend, model: model(`bench-${i}`) });
    berth.push(performance.now() - t0);
    await core.servers.remove(info.id);
    write(false);
    process.stderr.write(
      `run ${i + 1}/${RUNS}: direct ${round(baseline[i] ?? 0)} ms, Berth ${round(berth[i] ?? 0)} ms\n`,
    );
  }
} finally {
  await core.close();
  rmSync(home, { recursive: true, force: true });
}
/** The results so far: written after every pair, so a run cut short (a busy machine) still leaves its data. */
function write(done: boolean) {
  const overhead = median(berth) - median(baseline);
  const result = {
    benchmark: 'vllm-real: Berth start overhead over the real vLLM’s own time to a passing health check',
    vllm: { version: found.version, python: found.python, ...(found.setup ? { setup: found.setup } : {}) },
    model:
      'make_vllm_run.py Trainer run, checkpoint-4 (Llama, hidden 64, head_dim 32, 2 layers), max_model_len 128',
    runs: RUNS,
    completed_runs: berth.length,
    complete: done,
    warmup_direct_ms: round(warmup),
    baseline_direct_spawn_to_healthy_ms: summary(baseline.slice(0, berth.length)),
    berth_start_to_running_ms: summary(berth),
    overhead_ms: round(overhead),
    ratio: round(median(berth) / median(baseline.slice(0, berth.length)), 3),
    machine: `${process.platform}-${process.arch}, node ${process.version}`,
    measured_at: new Date().toISOString(),
  };
  writeFileSync(join(root, 'bench', 'results', 'vllm-real.json'), `${JSON.stringify(result, null, 2)}\n`);
  return result;
}
const result = write(true);
process.stdout.write(
  `overhead ${result.overhead_ms} ms (Berth ${result.berth_start_to_running_ms.median} ms vs direct ${result.baseline_direct_spawn_to_healthy_ms.median} ms)\n`,
);

function round(x: number, digits = 1): number {
  return Math.round(x * 10 ** digits) / 10 ** digits;
}
