// What a quality report costs: its evaluation time per 1,000 scored tokens against the engine's plain prompt
// evaluation of the same windows (bench/_quality-plain.ts), side by side and interleaved, all in their own child
// processes with the same threads. The report evaluates two models, so "evaluating twice" (ratio 2) is the floor.
// Both of the evaluator's readers are measured: raw logits from libllama (the default) and node-llama-cpp's
// per-position probabilities (the fallback). Two models: the tiny fixture (almost no compute per token, so the
// per-token comparison over the 32,000-token vocabulary is all there is: the worst case) and the ~46 M-parameter
// bench model (bench/_model.ts). Writes bench/results/quality.json.
import { execFileSync } from 'node:child_process';
import { statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { TINY_GGUF } from '../electron/core/engine/__fixtures__/fixtures.js';
import { measureQuality } from '../electron/core/quality/run.js';
import { root } from './_berth.js';
import { benchModel } from './_model.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const CONTEXT = 128;
const WINDOWS = Number(process.env.BENCH_WINDOWS ?? 4);
const THREADS = 1;

const stats = (xs: number[], digits = 3) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
  const r = (x: number) => +x.toFixed(digits);
  return { median: r(median), min: r(s[0] as number), max: r(s.at(-1) as number), all: xs.map(r) };
};

async function report(model: string, method: 'logits' | 'probabilities') {
  const r = await measureQuality({
    model,
    reference: model,
    context: CONTEXT,
    maxWindows: WINDOWS,
    gpu: 'cpu',
    threads: THREADS,
    extra: { method },
  });
  if (r.method !== method) throw new Error(`asked for ${method}, the evaluator used ${r.method}`);
  return { perK: (r.eval_seconds / r.tokens) * 1000, tokens: r.tokens };
}

function baseline(model: string, tokens: number, mode: 'plain' | 'outputs') {
  const out = execFileSync(
    process.execPath,
    [
      '--import',
      'tsx',
      join(root, 'bench', '_quality-plain.ts'),
      model,
      String(CONTEXT),
      String(WINDOWS),
      String(THREADS),
      mode,
    ],
    { cwd: root, encoding: 'utf8' },
  );
  return ((JSON.parse(out) as { eval_seconds: number }).eval_seconds / tokens) * 1000;
}

const bench = benchModel();
const models = [
  { name: 'tiny fixture (llama-2-tiny-random, ~1 M parameters)', path: TINY_GGUF },
  { name: `bench model (~46 M parameters; ${bench.source})`, path: bench.path },
];
const results = [];
for (const m of models) {
  const logits: number[] = [];
  const probs: number[] = [];
  const base: number[] = [];
  const floor: number[] = [];
  let tokens = 0;
  for (let i = 0; i < RUNS; i++) {
    const fast = await report(m.path, 'logits');
    tokens = fast.tokens;
    logits.push(fast.perK);
    base.push(baseline(m.path, tokens, 'plain'));
    floor.push(2 * baseline(m.path, tokens, 'outputs'));
    probs.push((await report(m.path, 'probabilities')).perK);
    process.stdout.write(
      `${m.name} run ${i + 1}: logits ${logits.at(-1)?.toFixed(3)} s, probabilities ${probs.at(-1)?.toFixed(3)} s, plain ${base.at(-1)?.toFixed(4)} s, two evaluations with outputs ${floor.at(-1)?.toFixed(4)} s per 1,000 scored tokens\n`,
    );
  }
  results.push({
    model: { name: m.name, path: m.path, bytes: statSync(m.path).size, vocabulary: 32000 },
    scored_tokens: tokens,
    report_logits_s_per_1k_tokens: stats(logits),
    report_probabilities_s_per_1k_tokens: stats(probs),
    plain_eval_s_per_1k_tokens: stats(base, 4),
    two_evaluations_with_outputs_s_per_1k_tokens: stats(floor, 4),
    ratio_logits_to_plain: stats(
      logits.map((x, i) => x / (base[i] as number)),
      1,
    ),
    ratio_logits_to_two_evaluations_with_outputs: stats(
      logits.map((x, i) => x / (floor[i] as number)),
      2,
    ),
    ratio_probabilities_to_plain: stats(
      probs.map((x, i) => x / (base[i] as number)),
      1,
    ),
    speedup_logits_over_probabilities: stats(
      probs.map((x, i) => x / (logits[i] as number)),
      1,
    ),
  });
}
const result = {
  benchmark:
    'quality report: evaluation seconds per 1,000 scored tokens (both readers) vs plain prompt evaluation of the same windows',
  runs: RUNS,
  context: CONTEXT,
  windows: WINDOWS,
  threads: THREADS,
  machine: { cpus: cpus().length, load_avg_1m: +(loadavg()[0] as number).toFixed(2) },
  models: results,
  note: "Raw logits: libllama decodes each window once per model with outputs on the scored positions; the comparison (two exp() per vocabulary entry per position in JS, ~0.8 ms per position at 32,000 tokens) overlaps the next decode. Plain evaluation computes the output layer for the last token only; the report needs it for every scored position, which on the 46 M bench model (its 16 M-parameter output layer is a third of the model) doubles a window's cost: hence the second baseline, two evaluations with outputs, the floor of any KL measurement (llama-perplexity pays it too). On a 7 B model the output layer is ~2 % of the compute. On the tiny model the JS arithmetic is the whole cost. Probabilities: node-llama-cpp builds a sorted Map of the whole vocabulary per position.",
};
writeFileSync(join(root, 'bench', 'results', 'quality.json'), `${JSON.stringify(result, null, 2)}\n`);
for (const r of results)
  process.stdout.write(
    `${r.model.name}: logits/plain ${JSON.stringify(r.ratio_logits_to_plain)}, logits/(two evaluations with outputs) ${JSON.stringify(r.ratio_logits_to_two_evaluations_with_outputs)}, probabilities/plain ${JSON.stringify(r.ratio_probabilities_to_plain)}\n`,
  );
