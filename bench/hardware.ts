// Hardware detection speed: a cold detectSystem() (vendor tools, Python probes for vLLM and the converter,
// Ollama, systeminformation, disk) and a cached core.system.report(), plus recommendDeployment() itself.
// Baselines, side by side on the same machine: spawning /bin/true and `python3 -c pass` (the floor of one tool
// call and of one Python probe). Goals: cold <= 1.5 s, cached < 5 ms.
// Run: npx tsx bench/hardware.ts   (writes bench/results/hardware.json)
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventBus } from '../electron/core/events.js';
import { detectSystem } from '../electron/core/hardware/detect.js';
import { recommendDeployment } from '../electron/core/hardware/recommend.js';
import { SystemService } from '../electron/core/hardware/service.js';
import { MACHINES, MODELS, machine } from '../electron/core/hardware/test-machines.js';
import { appRoot } from '../electron/core/version.js';
import { SettingsSchema } from '../shared/settings.js';
import { root } from './_berth.js';

const home = mkdtempSync(join(tmpdir(), 'berth-bench-hw-'));
const options = {
  env: process.env,
  home,
  appRoot: appRoot(),
  pythonEnvDir: join(home, 'python-env'),
  settings: { ollamaHost: 'http://127.0.0.1:11434' },
};

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}
async function time(fn: () => unknown, runs: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await fn();
    out.push(performance.now() - t);
  }
  return out;
}

const spawnTrue = await time(() => execFileSync('/bin/true'), 5);
const spawnPython = await time(() => execFileSync('python3', ['-c', 'pass']), 5);
const cold = await time(() => detectSystem(options), 5);
const last = await detectSystem(options);

const service = new SystemService({
  bus: new EventBus(),
  ...options,
  settings: () => SettingsSchema.parse({}),
});
await service.report();
const cached = await time(() => service.report(), 2000);
await service.close();

const gpus = MACHINES['RTX 4080 SUPER']!;
const recommend = await time(
  () => recommendDeployment(machine(gpus), { shape: MODELS['Llama-3.1-70B']! }),
  200,
);

const result = {
  measured_at: new Date().toISOString(),
  machine: {
    cpus: cpus().length,
    cpu: cpus()[0]?.model,
    gpus: last.gpus.length,
    backends: last.backends.map((b) => `${b.name}:${b.installed}`),
  },
  baseline_ms: { spawn_true_median: median(spawnTrue), spawn_python3_median: median(spawnPython) },
  detection_cold_ms: {
    median: median(cold),
    min: Math.min(...cold),
    max: Math.max(...cold),
    runs: cold.length,
  },
  detection_cold_vs_python_spawn: median(cold) / median(spawnPython),
  report_cached_ms: { median: median(cached), max: Math.max(...cached), runs: cached.length },
  recommend_ms: {
    median: median(recommend),
    runs: recommend.length,
    case: 'Llama-3.1-70B on an RTX 4080 SUPER',
  },
  goals: { cold_le_1500_ms: median(cold) <= 1500, cached_lt_5_ms: median(cached) < 5 },
};
mkdirSync(join(root, 'bench', 'results'), { recursive: true });
writeFileSync(join(root, 'bench', 'results', 'hardware.json'), `${JSON.stringify(result, null, 2)}\n`);
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
rmSync(home, { recursive: true, force: true });
