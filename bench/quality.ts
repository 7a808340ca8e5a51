// What a quality report costs: its evaluation time per 1,000 scored tokens against the engine's plain prompt
// evaluation of the same windows (bench/_quality-plain.ts), side by side and interleaved, both in their own child
// processes with the same threads. The report evaluates two models and reads every position's full next-token
// distribution back from llama.cpp, so "evaluating twice" (ratio 2) is the floor. Writes bench/results/quality.json.
import { execFileSync } from 'node:child_process';
import { statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { TINY_GGUF } from '../electron/core/engine/__fixtures__/fixtures.js';
import { scoredPerWindow, windows } from '../electron/core/quality/math.js';
import { measureQuality } from '../electron/core/quality/run.js';
import { root } from './_berth.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const CONTEXT = 128;
const WINDOWS = Number(process.env.BENCH_WINDOWS ?? 4);
const THREADS = 1;
const MODEL = process.env.BENCH_QUALITY_GGUF ?? TINY_GGUF;

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
  return {
    median: +median.toFixed(2),
    min: +(s[0] as number).toFixed(2),
    max: +(s.at(-1) as number).toFixed(2),
  };
};

const scored = windows(100_000, CONTEXT, WINDOWS).reduce((n, w) => n + scoredPerWindow(w), 0);
const report: number[] = [];
const plain: number[] = [];
let tokens = 0;
for (let i = 0; i < RUNS; i++) {
  const r = await measureQuality({
    model: MODEL,
    reference: MODEL,
    context: CONTEXT,
    maxWindows: WINDOWS,
    gpu: 'cpu',
    threads: THREADS,
  });
  tokens = r.tokens;
  report.push((r.eval_seconds / r.tokens) * 1000);
  const out = execFileSync(
    process.execPath,
    [
      '--import',
      'tsx',
      join(root, 'bench', '_quality-plain.ts'),
      MODEL,
      String(CONTEXT),
      String(WINDOWS),
      String(THREADS),
    ],
    { cwd: root, encoding: 'utf8' },
  );
  const p = JSON.parse(out) as { eval_seconds: number };
  plain.push((p.eval_seconds / r.tokens) * 1000);
  process.stdout.write(
    `run ${i + 1}: report ${report.at(-1)?.toFixed(2)} s, plain ${plain.at(-1)?.toFixed(3)} s per 1,000 scored tokens\n`,
  );
}
const ratios = report.map((r, i) => r / (plain[i] as number));
const result = {
  benchmark:
    'quality report: evaluation seconds per 1,000 scored tokens vs plain prompt evaluation of the same windows',
  model: { path: MODEL, bytes: statSync(MODEL).size, vocabulary: 32000 },
  runs: RUNS,
  context: CONTEXT,
  windows: WINDOWS,
  scored_tokens: tokens || scored,
  threads: THREADS,
  machine: { cpus: cpus().length, load_avg_1m: +(loadavg()[0] as number).toFixed(2) },
  report_s_per_1k_tokens: { ...stats(report), all: report.map((x) => +x.toFixed(3)) },
  plain_eval_s_per_1k_tokens: { ...stats(plain), all: plain.map((x) => +x.toFixed(4)) },
  ratio_report_to_plain: { ...stats(ratios), all: ratios.map((x) => +x.toFixed(1)) },
  note: "The report reads each position's full next-token distribution through node-llama-cpp's public API (controlledEvaluate with probabilities: a JS array of 2 x vocabulary numbers per position per model), which dominates; plain evaluation reads none. Per-token cost grows with the vocabulary, not the model size.",
};
writeFileSync(join(root, 'bench', 'results', 'quality.json'), `${JSON.stringify(result, null, 2)}\n`);
process.stdout.write(`${JSON.stringify(result.ratio_report_to_plain)}\n`);
